//! The page shell: top bar, scrubber, the stage (totals, topology canvas,
//! legend strip), the side panel (inspector or editor) and the bottom strip
//! (charts and log). Which panels show depends on embed mode, presenter
//! mode and the panel toggles; the panels themselves live in their own files.
//!
//! Nothing is laid over the canvas except a transient error toast: the
//! legend, the "not drawn" note and the embed's "Open in QueueLab" link sit
//! in a full-width strip of their own below it, so they can never cover a node.

use super::{App, Msg, Tab};
use crate::ui::charts::ChartKind;
use crate::ui::layout::EdgeKind;
use crate::ui::views::{self, LegendFacts, TotalsBar};
use yew::prelude::*;

impl App {
    pub(super) fn view_all(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let mut root = classes!(
            "app",
            if self.dark {
                "theme-dark"
            } else {
                "theme-light"
            }
        );
        if self.embed {
            root.push("embed");
        }
        if self.show_side {
            root.push("show-side");
        }
        if self.show_bottom {
            root.push("show-bottom");
        }
        if self.presenter {
            root.push("presenter");
        }
        if self.builder.on {
            root.push("building");
        }
        if self.comparing() {
            root.push("comparing");
        }
        if self.editor_room && self.tab == Tab::Scenario {
            root.push("editor-room");
        }
        let panels = !self.embed && !self.presenter;
        let name_px = self.layout.style.title_px * self.view.scale;
        html! {
            <div class={root} id="app-root" data-playing={self.playing.to_string()} data-tokens={self.tokens.live().to_string()} data-fps={format!("{:.1}", self.fps)} data-t-us={self.sim.now_us().to_string()} data-presenter={self.presenter.to_string()}
                data-trace-hash={crate::engine::report::hash_hex(self.sim.engine.trace_hash())}
                data-finished={self.sim.finished().to_string()} data-end-us={self.sim.end_us.to_string()}
                data-building={self.builder.on.to_string()}
                onpointerup={link.callback(|_| Msg::Build(super::builder::BuildMsg::Released))}>
                { self.view_topbar(ctx) }
                if !self.presenter { { self.view_scrubber(ctx) } }
                <div class="main">
                    <div class="stage">
                        if !self.comparing() {
                            <TotalsBar totals={self.snap.totals} parked={views::parked_in_dead_letter_queues(self.sim.engine.config(), &self.snap.nodes)} brief={self.presenter} alerts={self.snap.alerts.clone()} lag={self.group_lag_total()} logs_only={self.logs_only()} />
                        }
                        { self.view_ledger_strip(ctx) }
                        { self.view_share_overlays(ctx) }
                        { self.view_gif_dialog(ctx) }
                        { self.view_finished(ctx) }
                        { self.view_variants_hint(ctx) }
                        if let Some(e) = &self.command_error {
                            <div class="toast" id="command-toast" role="alert">{ format!("Not applied: {e}") }</div>
                        }
                        if self.builder.on && panels { { self.view_build_bar(ctx) } }
                        <div class="stage-row">
                            if self.builder.on && panels { { self.view_palette(ctx) } }
                            { self.view_lanes() }
                            <canvas ref={self.canvas.clone()} id="topology" class={classes!("topology", self.comparing().then_some("hidden"))} tabindex="0"
                                aria-label="Topology: drag the background to pan, wheel or +/- to zoom, 0 to fit"
                                data-nodes={self.node_positions()} data-boxes={self.drawn_boxes()} data-handles={self.handle_positions()}
                                data-name-px={format!("{name_px:.1}")} data-squeezed={self.squeezed.to_string()} data-streams={serde_json::to_string(&self.streams_drawn).unwrap_or_default()} data-scale={format!("{:.3}", self.view.scale)}
                                onpointerdown={link.callback(|e: PointerEvent| Msg::Down(e.offset_x() as f64, e.offset_y() as f64))}
                                onpointermove={link.callback(|e: PointerEvent| Msg::Move(e.offset_x() as f64, e.offset_y() as f64))}
                                onpointerup={link.callback(|_| Msg::Up)}
                                onpointerleave={link.callback(|_| Msg::Leave)}
                                onwheel={link.callback(|e: WheelEvent| {
                                    let f = if e.delta_y() < 0.0 { 1.15 } else { 1.0 / 1.15 };
                                    Msg::Zoom(f, Some((e.offset_x() as f64, e.offset_y() as f64)))
                                })}
                            ></canvas>
                            if self.presenter {
                                if let Some(k) = self.big_chart {
                                    <div class="big-chart">
                                        <canvas class="chart" id={ChartKind::ALL[k].id()} ref={self.charts[k].clone()}></canvas>
                                    </div>
                                }
                            }
                            // Presenter mode and embeds fold the side panel: an open
                            // lesson gets a column beside the picture instead.
                            if !panels && self.lesson.is_some() {
                                <div class="lesson-side">{ self.view_lesson(ctx) }</div>
                            }
                        </div>
                    </div>
                    if panels && !self.side_hidden {
                        <aside class={classes!("side", (self.tab == Tab::Scenario).then_some("wide"))}>
                            <div class="tabs">
                                <button class="tab fold" id="hide-side" title="Hide this panel: more room for the canvas" onclick={link.callback(|_| Msg::TogglePanel(2))}>{"⟩"}</button>
                                <button class={classes!("tab", (self.tab == Tab::Inspect).then_some("active"))} id="tab-inspect" onclick={link.callback(|_| Msg::Tab(Tab::Inspect))}>{"Inspect"}<span class="long">{"or"}</span></button>
                                <button class={classes!("tab", (self.tab == Tab::Scenario).then_some("active"))} id="tab-scenario" onclick={link.callback(|_| Msg::Tab(Tab::Scenario))}><span class="long">{"Edit "}</span>{"JSON"}</button>
                                <button class={classes!("tab", (self.tab == Tab::Lesson).then_some("active"))} id="tab-lessons" onclick={link.callback(|_| Msg::Tab(Tab::Lesson))}>{"Lessons"}</button>
                                <button class={classes!("tab", (self.tab == Tab::Sweep).then_some("active"))} id="tab-sweep" title="What if? Run a field over several values in the background and plot a metric" onclick={link.callback(|_| Msg::Tab(Tab::Sweep))}>{"Sweep"}</button>
                            </div>
                            <div class="side-body">
                                { match self.tab {
                                    Tab::Inspect => self.view_inspector(ctx),
                                    Tab::Scenario => self.view_editor(ctx),
                                    Tab::Lesson => self.view_lesson(ctx),
                                    Tab::Sweep => self.view_sweep(ctx),
                                } }
                            </div>
                        </aside>
                    }
                </div>
                <div class="legend-strip" id="legend-strip">
                    { views::legend(&self.legend_facts()) }
                    if self.not_drawn_per_s > 0 {
                        <span class="not-drawn" id="not-drawn" title="More messages move than can be drawn smoothly; the totals still count every one">
                            { format!("+{}/s moves not drawn", self.not_drawn_per_s) }
                        </span>
                    }
                    if !self.ledger_shown() || self.comparing() { { self.compare_button(ctx) } }
                    if panels && !self.comparing() {
                        <button class="btn small" id="fold-bottom" aria-pressed={self.bottom_hidden.to_string()}
                            title={if self.bottom_hidden { "Show the charts and the event log" } else { "Hide the charts and the event log: more room for the picture" }}
                            onclick={link.callback(|_| Msg::TogglePanel(3))}>
                            { if self.bottom_hidden { "▴ Charts" } else { "▾ Charts" } }
                        </button>
                    }
                    <button class={classes!("btn", "small", self.ledger_shown().then_some("on"))} id="toggle-ledger"
                        aria-pressed={self.ledger_shown().to_string()}
                        title="The delivery ledger: what was done exactly once, twice, never"
                        onclick={link.callback(|_| Msg::ToggleLedger)}>{"Ledger"}</button>
                    if self.zoom != 1.0 || self.pan != (0.0, 0.0) {
                        <button class="btn small" id="fit-view" title="Fit the picture to the canvas (0)" onclick={link.callback(|_| Msg::ResetView)}>{"Fit"}</button>
                    }
                    if self.embed {
                        <a class="embed-open" target="_blank" href={self.open_href()}>{"Open in QueueLab ↗"}</a>
                    }
                </div>
                if panels && !self.bottom_hidden {
                    <section class="bottom">
                        <div class="charts">
                            { for ChartKind::ALL.iter().enumerate().map(|(k, kind)| html! {
                                <canvas class="chart" id={kind.id()} ref={self.charts[k].clone()}></canvas>
                            }) }
                        </div>
                        { self.view_log(ctx) }
                    </section>
                }
            </div>
        }
    }

    /// Lag summed over the consumer groups (`None` without groups).
    fn group_lag_total(&self) -> Option<u64> {
        let mut groups = self.snap.nodes.iter().filter_map(|n| match n {
            crate::engine::NodeView::Group(g) => Some(g.lag),
            _ => None,
        });
        let first = groups.next()?;
        Some(first + groups.sum::<u64>())
    }

    /// Topics and nothing the message ledger counts in flight.
    fn logs_only(&self) -> bool {
        let cfg = self.sim.engine.config();
        !cfg.topics.is_empty()
            && cfg.queues.is_empty()
            && cfg.pulsar_topics.is_empty()
            && cfg.redis_pubsub.is_empty()
            && cfg.redis_streams.is_empty()
    }

    /// What the legend must explain for this topology.
    fn legend_facts(&self) -> LegendFacts {
        let has = |k: EdgeKind| self.layout.edges.iter().any(|e| e.kind == k);
        let cfg = self.sim.engine.config();
        // A group writing to an event store with (or without) the check.
        let store = |check: bool| {
            cfg.consumer_groups.iter().any(|g| {
                g.output
                    .as_ref()
                    .is_some_and(|o| o.expected_version == Some(check))
            })
        };
        LegendFacts {
            dead_path: has(EdgeKind::DeadLetter),
            retry_loop: has(EdgeKind::Retry) || has(EdgeKind::Requeue),
            alternate: has(EdgeKind::Alternate),
            queues: !cfg.queues.is_empty(),
            max_length: cfg.queues.iter().any(|q| q.max_length.is_some()),
            // Consumer boxes, Pulsar subscriptions and Redis groups draw
            // the same busy / idle / crashed dots.
            consumers: !cfg.consumers.is_empty()
                || !cfg.pulsar_subscriptions.is_empty()
                || !cfg.redis_groups.is_empty(),
            breakers: cfg.consumers.iter().any(|c| c.circuit_breaker.is_some()),
            alerts: !cfg.alerts.is_empty(),
            store_checked: store(true),
            store_unchecked: store(false),
            priorities: cfg.queues.iter().any(|q| q.max_priority.is_some()),
            streams: !cfg.topics.is_empty(),
            brief: self.presenter,
        }
    }

    /// Screen positions of node centres, `id:x,y;…`, for tests and tools.
    pub(super) fn node_positions(&self) -> String {
        self.layout
            .nodes
            .iter()
            .map(|n| {
                let (x, y) = self.view.pt((n.x, n.y));
                format!("{}:{:.0},{:.0}", n.id, x, y)
            })
            .collect::<Vec<_>>()
            .join(";")
    }

    /// Every drawn box (nodes, edge labels, band caption) in canvas CSS px,
    /// as JSON `[{"kind","id","x","y","w","h"}…]`, for tests and tools.
    pub(super) fn drawn_boxes(&self) -> String {
        let items: Vec<serde_json::Value> = self
            .layout
            .boxes()
            .iter()
            .map(|b| {
                let r = self.view.rect(&b.rect);
                serde_json::json!({
                    "kind": b.kind,
                    "id": b.id,
                    "x": (r.x0 * 10.0).round() / 10.0,
                    "y": (r.y0 * 10.0).round() / 10.0,
                    "w": (r.w() * 10.0).round() / 10.0,
                    "h": (r.h() * 10.0).round() / 10.0,
                })
            })
            .collect();
        serde_json::Value::Array(items).to_string()
    }
}
