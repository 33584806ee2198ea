//! The page shell: top bar, scrubber, the stage (totals, topology canvas,
//! legend), the side panel (inspector or editor) and the bottom strip
//! (charts and log). Which panels show depends on embed mode and the
//! panel toggles; the panels themselves live in their own files.

use super::{App, Msg, Tab};
use crate::ui::charts::ChartKind;
use crate::ui::layout::EdgeKind;
use crate::ui::views::{self, TotalsBar};
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
        html! {
            <div class={root} id="app-root" data-playing={self.playing.to_string()} data-tokens={self.tokens.live().to_string()} data-fps={format!("{:.1}", self.fps)} data-t-us={self.sim.now_us().to_string()}
                data-trace-hash={crate::engine::report::hash_hex(self.sim.engine.trace_hash())}
                data-finished={self.sim.finished().to_string()} data-end-us={self.sim.end_us.to_string()}>
                { self.view_topbar(ctx) }
                { self.view_scrubber(ctx) }
                <div class="main">
                    <div class="stage">
                        <TotalsBar totals={self.snap.totals} />
                        { self.view_share_overlays(ctx) }
                        { self.view_finished(ctx) }
                        if let Some(e) = &self.command_error {
                            <div class="toast" id="command-toast" role="alert">{ format!("Not applied: {e}") }</div>
                        }
                        <canvas ref={self.canvas.clone()} id="topology" class="topology" data-nodes={self.node_positions()}
                            onpointerdown={link.callback(|e: PointerEvent| Msg::Down(e.offset_x() as f64, e.offset_y() as f64))}
                            onpointermove={link.callback(|e: PointerEvent| Msg::Move(e.offset_x() as f64, e.offset_y() as f64))}
                            onpointerup={link.callback(|_| Msg::Up)}
                            onpointerleave={link.callback(|_| Msg::Up)}
                        ></canvas>
                        { views::legend(
                            self.layout.edges.iter().any(|e| e.kind == EdgeKind::DeadLetter),
                            self.layout.edges.iter().any(|e| matches!(e.kind, EdgeKind::Retry | EdgeKind::Requeue)),
                        ) }
                        if self.embed {
                            <a class="embed-open" target="_blank" href={self.open_href()}>{"Open in QueueLab ↗"}</a>
                        }
                    </div>
                    if !self.embed && !self.side_hidden {
                        <aside class="side">
                            <div class="tabs">
                                <button class="tab fold" id="hide-side" title="Hide this panel: more room for the canvas" onclick={link.callback(|_| Msg::TogglePanel(2))}>{"⟩"}</button>
                                <button class={classes!("tab", (self.tab == Tab::Inspect).then_some("active"))} id="tab-inspect" onclick={link.callback(|_| Msg::Tab(Tab::Inspect))}>{"Inspector"}</button>
                                <button class={classes!("tab", (self.tab == Tab::Scenario).then_some("active"))} id="tab-scenario" onclick={link.callback(|_| Msg::Tab(Tab::Scenario))}>{"Edit JSON"}</button>
                            </div>
                            <div class="side-body">
                                if self.tab == Tab::Inspect { { self.view_inspector(ctx) } } else { { self.view_editor(ctx) } }
                            </div>
                        </aside>
                    }
                </div>
                if !self.embed {
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
}
