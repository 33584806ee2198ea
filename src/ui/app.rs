//! The one stateful component: it owns the `Sim`, the token animations and
//! the frame loop; everything else is rendered from them.
//!
//!   requestAnimationFrame ──Msg::Frame──► Sim::advance ──► Tokens::ingest ──► paint canvas
//!                                            ▲                                  │
//!   clicks, knobs, scrubber ──Msg──► Command / seek / restart                   └─► DOM at 10 Hz
//!
//! Painting the canvases is the only effect of a frame; DOM updates are
//! limited to ten per second so the page stays cheap at 60 fps.

use super::charts::{self, ChartKind};
use super::knobs;
use super::layout::{EdgeKind, Layout};
use super::params::Params;
use super::render::{self, Hit, View, DARK, LIGHT};
use super::sim::Sim;
use super::tokens::Tokens;
use super::views::{self, TotalsBar};
use crate::engine::{Command, NodeKind, NodeView, Snapshot, TraceKind};
use crate::scenario::{self, AckMode, OnFailure, Overflow, ScenarioIssue};
use gloo::render::{request_animation_frame, AnimationFrame};
use wasm_bindgen::JsCast;
use web_sys::{
    CanvasRenderingContext2d, HtmlCanvasElement, HtmlElement, HtmlInputElement, HtmlSelectElement,
    HtmlTextAreaElement,
};
use yew::prelude::*;
use yew::TargetCast;

const LOG_ROW_PX: f64 = 22.0;

pub enum Msg {
    Frame(f64),
    TogglePlay,
    Step,
    Speed(f64),
    SeedText(String),
    Restart(bool),
    Preset(String),
    Seek(u64),
    Down(f64, f64),
    Move(f64, f64),
    Up,
    SelectNode(Option<usize>),
    SelectMessage(Option<u64>),
    Cmd(Option<Command>),
    LogScroll(f64, bool),
    FilterNode(String),
    FilterKind(String),
    FilterMessage(String),
    EditorText(String),
    EditorApply,
    EditorRevert,
    Tab(Tab),
    ToggleTheme,
    TogglePanel(u8),
    Noop,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Tab {
    Inspect,
    Scenario,
}

pub struct App {
    sim: Sim,
    preset: String,
    layout: Layout,
    tokens: Tokens,
    snap: Snapshot,
    playing: bool,
    speed: f64,
    seed_text: String,
    dark: bool,
    embed: bool,
    bench_tokens: usize,
    sel_node: Option<usize>,
    sel_msg: Option<u64>,
    tab: Tab,
    editor_text: String,
    editor_dirty: bool,
    editor_errors: Vec<ScenarioIssue>,
    editor_note: Option<String>,
    command_error: Option<String>,
    filter_node: Option<usize>,
    filter_kind: String,
    filter_msg: String,
    log_scroll: f64,
    log_follow: bool,
    show_side: bool,
    /// Side panel folded away on wide screens to give the canvas room.
    side_hidden: bool,
    show_bottom: bool,
    canvas: NodeRef,
    charts: [NodeRef; 4],
    log_ref: NodeRef,
    ctx2d: Option<CanvasRenderingContext2d>,
    raf: Option<AnimationFrame>,
    /// Keyboard shortcuts (space: play/pause, period: step); dropped with the app.
    _keys: Option<gloo::events::EventListener>,
    last_ts: Option<f64>,
    last_dom_ms: f64,
    last_chart_ms: f64,
    charts_dirty: bool,
    view: View,
    hits: Vec<Hit>,
    drag: Option<(usize, f64, f64, bool)>,
    frames: u32,
    fps: f64,
    fps_since: f64,
}

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

impl App {
    /// Lay out the topology for the current canvas: unwrapped, or wrapped
    /// into two or three segments when that makes the nodes clearly bigger.
    fn compute_layout(&self) -> Layout {
        let (w, h) = self
            .canvas
            .cast::<HtmlCanvasElement>()
            .map(|c| (c.client_width() as f64, c.client_height() as f64))
            .filter(|(w, h)| *w > 50.0 && *h > 50.0)
            .unwrap_or((900.0, 450.0));
        best_layout(&self.sim, w, h)
    }

    fn load_preset(name: &str, seed: Option<u64>) -> (Sim, String, String) {
        let p = scenario::preset(name)
            .or_else(|| scenario::presets().first())
            .expect("at least one preset");
        let sc = p.scenario();
        let seed = seed.unwrap_or(sc.seed);
        let sim = Sim::new(sc, seed).expect("presets are valid");
        (sim, p.name.to_string(), p.json.to_string())
    }

    fn reset_views(&mut self) {
        self.layout = self.compute_layout();
        self.tokens.clear();
        self.snap = self.sim.engine.snapshot();
        self.sel_msg = None;
        if self.sel_node.is_some_and(|i| i >= self.layout.nodes.len()) {
            self.sel_node = None;
        }
        self.filter_node = None;
        self.seed_text = self.sim.seed.to_string();
        self.charts_dirty = true;
        self.log_follow = true;
        self.command_error = None;
        super::set_reproduction(&self.sim.reproduction());
    }

    fn restart_with(&mut self, sim: Sim) {
        self.sim = sim;
        self.sel_node = None;
        self.reset_views();
    }

    fn ingest(&mut self, evs: &[crate::engine::TraceEvent]) {
        self.tokens.ingest(evs, now_ms(), self.speed);
    }

    fn paint(&mut self, now: f64) {
        let Some(canvas) = self.canvas.cast::<HtmlCanvasElement>() else {
            return;
        };
        let Some(CanvasFit { w, h, dpr, resized }) = fit_canvas(&canvas) else {
            return;
        };
        if resized {
            self.ctx2d = None;
            self.layout = self.compute_layout();
        }
        if self.ctx2d.is_none() {
            self.ctx2d = context_2d(&canvas);
        }
        let Some(ctx) = self.ctx2d.as_ref() else {
            return;
        };
        let _ = ctx.set_transform(dpr, 0.0, 0.0, dpr, 0.0, 0.0);
        if self.drag.is_none() {
            self.view = View::fit(&self.layout, w, h);
        }
        let frame = render::Frame {
            ctx,
            w,
            h,
            view: self.view,
            layout: &self.layout,
            snap: &self.snap,
            tokens: &self.tokens,
            theme: if self.dark { &DARK } else { &LIGHT },
            selected_node: self.sel_node,
            selected_msg: self.sel_msg,
            now_ms: now,
            retry_wait: self.sim.engine.ledger().retry_wait,
        };
        self.hits = render::draw(&frame);
    }

    fn paint_charts(&mut self) {
        let th = if self.dark { &DARK } else { &LIGHT };
        let queues: Vec<String> = self
            .sim
            .engine
            .config()
            .queues
            .iter()
            .map(|q| q.id.clone())
            .collect();
        let x_max = self.sim.horizon_us as f64 / 1e6;
        let cursor = self.sim.now_us() as f64 / 1e6;
        for (k, kind) in ChartKind::ALL.iter().enumerate() {
            let Some(canvas) = self.charts[k].cast::<HtmlCanvasElement>() else {
                continue;
            };
            let Some(CanvasFit { w, h, dpr, .. }) = fit_canvas(&canvas) else {
                continue;
            };
            let Some(ctx) = context_2d(&canvas) else {
                continue;
            };
            let _ = ctx.set_transform(dpr, 0.0, 0.0, dpr, 0.0, 0.0);
            let lines = charts::lines(*kind, self.sim.chart_series(), &queues);
            charts::draw(&ctx, w, h, th, *kind, &lines, x_max, cursor);
        }
        self.charts_dirty = false;
    }

    fn schedule(&mut self, ctx: &Context<Self>) {
        let link = ctx.link().clone();
        self.raf = Some(request_animation_frame(move |ts| {
            link.send_message(Msg::Frame(ts))
        }));
    }

    fn submit(&mut self, cmd: Command) {
        match self.sim.submit(cmd) {
            Ok(evs) => {
                self.command_error = None;
                self.ingest(&evs);
                self.layout = self.compute_layout();
                self.snap = self.sim.engine.snapshot();
                self.charts_dirty = true;
                super::set_reproduction(&self.sim.reproduction());
            }
            Err(e) => self.command_error = Some(e),
        }
    }
}

impl Component for App {
    type Message = Msg;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
        let params = Params::from_location();
        let name = params.preset.clone().unwrap_or_else(|| "work-queue".into());
        let (sim, preset, json) = App::load_preset(&name, params.seed);
        let layout = best_layout(&sim, 900.0, 450.0);
        let snap = sim.engine.snapshot();
        super::set_reproduction(&sim.reproduction());
        let mut app = App {
            seed_text: sim.seed.to_string(),
            sim,
            preset,
            layout,
            tokens: Tokens::default(),
            snap,
            playing: params.autoplay,
            speed: params.speed,
            dark: params.dark,
            embed: params.embed,
            bench_tokens: params.bench_tokens,
            sel_node: None,
            sel_msg: None,
            tab: Tab::Inspect,
            editor_text: json,
            editor_dirty: false,
            editor_errors: Vec::new(),
            editor_note: None,
            command_error: None,
            filter_node: None,
            filter_kind: String::new(),
            filter_msg: String::new(),
            log_scroll: 0.0,
            log_follow: true,
            show_side: false,
            side_hidden: false,
            show_bottom: false,
            canvas: NodeRef::default(),
            charts: Default::default(),
            log_ref: NodeRef::default(),
            ctx2d: None,
            raf: None,
            _keys: None,
            last_ts: None,
            last_dom_ms: 0.0,
            last_chart_ms: 0.0,
            charts_dirty: true,
            view: View::default(),
            hits: Vec::new(),
            drag: None,
            frames: 0,
            fps: 0.0,
            fps_since: 0.0,
        };
        app.schedule(ctx);
        if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
            let link = ctx.link().clone();
            let opts = gloo::events::EventListenerOptions::enable_prevent_default();
            app._keys = Some(gloo::events::EventListener::new_with_options(
                &doc,
                "keydown",
                opts,
                move |e| {
                    let Some(e) = e.dyn_ref::<web_sys::KeyboardEvent>() else {
                        return;
                    };
                    let typing = e
                        .target()
                        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                        .map(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"))
                        .unwrap_or(false);
                    if typing || e.ctrl_key() || e.meta_key() || e.alt_key() {
                        return;
                    }
                    match e.key().as_str() {
                        " " => {
                            e.prevent_default();
                            link.send_message(Msg::TogglePlay);
                        }
                        "." => link.send_message(Msg::Step),
                        _ => {}
                    }
                },
            ));
        }
        if params.panic_test {
            ctx.link().send_message(Msg::Noop);
        }
        super::set_theme_class(app.dark);
        app
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        match msg {
            Msg::Frame(ts) => {
                let dt = self
                    .last_ts
                    .map(|l| (ts - l).clamp(0.0, 100.0))
                    .unwrap_or(16.0);
                self.last_ts = Some(ts);
                if self.playing {
                    let dt_us = (dt * 1000.0 * self.speed).round() as u64;
                    // Leave time for drawing: stop the engine after ~6 ms of work.
                    let started = now_ms();
                    let evs = self.sim.advance(dt_us, &|| now_ms() - started > 6.0);
                    self.tokens.ingest(&evs, ts, self.speed);
                    self.snap = self.sim.engine.snapshot();
                }
                self.tokens.prune(ts);
                if self.bench_tokens > 0 {
                    let edges: Vec<(u32, u32)> = self
                        .layout
                        .edges
                        .iter()
                        .map(|e| (e.from as u32, e.to as u32))
                        .collect();
                    self.tokens.keep_synthetic(self.bench_tokens, &edges, ts);
                }
                let view_before = self.view;
                self.paint(ts);
                let view_changed = self.view != view_before;
                self.frames += 1;
                if ts - self.fps_since >= 1000.0 {
                    self.fps = self.frames as f64 * 1000.0 / (ts - self.fps_since);
                    self.frames = 0;
                    self.fps_since = ts;
                }
                if self.charts_dirty || (self.playing && ts - self.last_chart_ms >= 250.0) {
                    self.last_chart_ms = ts;
                    self.paint_charts();
                }
                self.schedule(ctx);
                if view_changed
                    || (ts - self.last_dom_ms >= 100.0 && (self.playing || self.bench_tokens > 0))
                {
                    self.last_dom_ms = ts;
                    return true;
                }
                false
            }
            Msg::TogglePlay => {
                self.playing = !self.playing;
                if !self.playing {
                    self.sim.settle();
                    self.snap = self.sim.engine.snapshot();
                }
                self.charts_dirty = true;
                true
            }
            Msg::Step => {
                if self.playing {
                    self.playing = false;
                }
                let evs = self.sim.step();
                self.ingest(&evs);
                self.snap = self.sim.engine.snapshot();
                self.charts_dirty = true;
                true
            }
            Msg::Speed(v) => {
                self.speed = 10f64.powf(v).clamp(0.1, 1000.0);
                // Snap near round values so the label reads well.
                for r in [
                    0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0,
                ] {
                    if (self.speed / r - 1.0).abs() < 0.06 {
                        self.speed = r;
                    }
                }
                true
            }
            Msg::SeedText(s) => {
                self.seed_text = s;
                true
            }
            Msg::Restart(new_seed) => {
                let seed = if new_seed {
                    let r = (js_sys::Math::random() * 1_000_000.0) as u64;
                    r.max(1)
                } else {
                    self.seed_text.trim().parse().unwrap_or(self.sim.seed)
                };
                match Sim::new(self.sim.scenario.clone(), seed) {
                    Ok(sim) => {
                        let keep = self.sel_node;
                        self.restart_with(sim);
                        self.sel_node = keep;
                    }
                    Err(e) => self.command_error = Some(e.to_string()),
                }
                true
            }
            Msg::Preset(name) => {
                let (sim, preset, json) = App::load_preset(&name, None);
                self.preset = preset;
                self.editor_text = json;
                self.editor_dirty = false;
                self.editor_errors.clear();
                self.editor_note = None;
                self.restart_with(sim);
                true
            }
            Msg::Seek(t) => {
                self.sim.seek(t);
                self.tokens.clear();
                self.snap = self.sim.engine.snapshot();
                self.charts_dirty = true;
                self.log_follow = true;
                true
            }
            Msg::Down(x, y) => {
                // Messages drawn in stacks and consumers first, then nodes, then tokens.
                if let Some(h) = self
                    .hits
                    .iter()
                    .find(|h| (h.x - x).abs() <= h.r && (h.y - y).abs() <= h.r)
                {
                    self.sel_msg = Some(h.msg);
                    self.tab = Tab::Inspect;
                    self.show_side = true;
                    self.side_hidden = false;
                    return true;
                }
                let (lx, ly) = self.view.inv(x, y);
                let k = self.view.k();
                if let Some(i) = self.layout.nodes.iter().position(|n| {
                    (lx - n.x).abs() <= n.w * k / 2.0 && (ly - n.y).abs() <= n.h * k / 2.0
                }) {
                    let n = &self.layout.nodes[i];
                    self.drag = Some((i, lx - n.x, ly - n.y, false));
                    self.sel_node = Some(i);
                    self.sel_msg = None;
                    self.tab = Tab::Inspect;
                    self.show_side = true;
                    self.side_hidden = false;
                    return true;
                }
                let now = now_ms();
                let size = 10.0;
                let found = self
                    .tokens
                    .tokens
                    .iter()
                    .filter(|t| t.t0 <= now && t.msg != 0)
                    .find(|t| {
                        let (a, b) = (t.from as usize, t.to as usize);
                        if a >= self.layout.nodes.len() || b >= self.layout.nodes.len() {
                            return false;
                        }
                        let r = self.layout.route(a, b, self.layout.edge_kind(a, b), k);
                        let u = ((now - t.t0) / t.dur).clamp(0.0, 1.0);
                        let (px, py) = self
                            .view
                            .pt(super::layout::bezier(&r, u * u * (3.0 - 2.0 * u)));
                        (px - x).abs() < size && (py - y).abs() < size
                    });
                if let Some(t) = found {
                    self.sel_msg = Some(t.msg);
                    self.tab = Tab::Inspect;
                    self.show_side = true;
                    self.side_hidden = false;
                } else {
                    self.sel_node = None;
                    self.sel_msg = None;
                }
                true
            }
            Msg::Move(x, y) => {
                if let Some((i, dx, dy, _)) = self.drag {
                    let (lx, ly) = self.view.inv(x, y);
                    let (nx, ny) = ((lx - dx).round(), (ly - dy).round());
                    if let Some(n) = self.layout.nodes.get_mut(i) {
                        if (n.x - nx).abs() + (n.y - ny).abs() > 0.5 {
                            n.x = nx;
                            n.y = ny;
                            self.drag = Some((i, dx, dy, true));
                            if !self.playing {
                                self.paint(now_ms());
                            }
                        }
                    }
                }
                false
            }
            Msg::Up => {
                if let Some((i, _, _, moved)) = self.drag.take() {
                    if moved {
                        let n = &self.layout.nodes[i];
                        self.sim.scenario.layout.insert(n.id.clone(), [n.x, n.y]);
                        if !self.editor_dirty {
                            self.editor_text = serde_json::to_string_pretty(&self.sim.scenario)
                                .unwrap_or_default();
                        }
                        super::set_reproduction(&self.sim.reproduction());
                    }
                    if !self.playing {
                        self.paint(now_ms());
                    }
                }
                true
            }
            Msg::SelectNode(i) => {
                self.sel_node = i;
                self.sel_msg = None;
                self.tab = Tab::Inspect;
                if !self.playing {
                    self.paint(now_ms());
                }
                true
            }
            Msg::SelectMessage(m) => {
                self.sel_msg = m;
                self.tab = Tab::Inspect;
                self.show_side = true;
                self.side_hidden = false;
                if !self.playing {
                    self.paint(now_ms());
                }
                true
            }
            Msg::Cmd(Some(c)) => {
                self.submit(c);
                if !self.playing {
                    self.paint(now_ms());
                }
                true
            }
            Msg::Cmd(None) => {
                self.command_error = Some("that value is not a number".into());
                true
            }
            Msg::LogScroll(top, at_bottom) => {
                self.log_scroll = top;
                self.log_follow = at_bottom;
                true
            }
            Msg::FilterNode(v) => {
                self.filter_node = v.parse().ok();
                self.log_follow = true;
                true
            }
            Msg::FilterKind(v) => {
                self.filter_kind = v;
                self.log_follow = true;
                true
            }
            Msg::FilterMessage(v) => {
                self.filter_msg = v;
                self.log_follow = true;
                true
            }
            Msg::EditorText(t) => {
                self.editor_text = t;
                self.editor_dirty = true;
                self.editor_note = None;
                true
            }
            Msg::EditorApply => {
                match scenario::load(&self.editor_text) {
                    Ok(sc) => {
                        let seed = sc.seed;
                        match Sim::new(sc, seed) {
                            Ok(sim) => {
                                self.editor_errors.clear();
                                self.editor_dirty = false;
                                self.editor_note = Some(
                                    "Applied: the simulation restarted with this scenario.".into(),
                                );
                                self.preset = String::new();
                                self.restart_with(sim);
                            }
                            Err(e) => self.editor_errors = e.issues,
                        }
                    }
                    Err(e) => {
                        self.editor_errors = e.issues;
                        self.editor_note = None;
                    }
                }
                true
            }
            Msg::EditorRevert => {
                self.editor_text =
                    serde_json::to_string_pretty(&self.sim.scenario).unwrap_or_default();
                self.editor_dirty = false;
                self.editor_errors.clear();
                self.editor_note = None;
                true
            }
            Msg::Tab(t) => {
                self.tab = t;
                true
            }
            Msg::ToggleTheme => {
                self.dark = !self.dark;
                super::set_theme_class(self.dark);
                self.charts_dirty = true;
                if !self.playing {
                    self.paint(now_ms());
                }
                true
            }
            Msg::TogglePanel(which) => {
                if which == 2 {
                    self.side_hidden = !self.side_hidden;
                    self.layout = self.compute_layout();
                } else if which == 0 {
                    self.show_side = !self.show_side;
                } else {
                    self.show_bottom = !self.show_bottom;
                }
                self.charts_dirty = true;
                true
            }
            Msg::Noop => {
                if Params::from_location().panic_test {
                    panic!("panic_test=1: a deliberate panic to show the crash banner");
                }
                false
            }
        }
    }

    fn rendered(&mut self, _ctx: &Context<Self>, first: bool) {
        self.rendered_inner(first);
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        self.view_all(ctx)
    }
}

impl App {
    fn rendered_inner(&mut self, first: bool) {
        if self.log_follow {
            if let Some(el) = self.log_ref.cast::<HtmlElement>() {
                el.set_scroll_top(el.scroll_height());
            }
        }
        if first || self.charts_dirty {
            self.paint_charts();
        }
    }

    fn view_all(&self, ctx: &Context<Self>) -> Html {
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
            <div class={root} id="app-root" data-playing={self.playing.to_string()} data-tokens={self.tokens.live().to_string()} data-fps={format!("{:.1}", self.fps)} data-t-us={self.sim.now_us().to_string()}>
                { self.view_topbar(ctx) }
                { self.view_scrubber(ctx) }
                <div class="main">
                    <div class="stage">
                        <TotalsBar totals={self.snap.totals} />
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
                            <a class="embed-open" target="_blank" href={views::full_app_href()}>{"Open in QueueLab ↗"}</a>
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
}

impl App {
    /// Screen positions of node centres, `id:x,y;…`, for tests and tools.
    fn node_positions(&self) -> String {
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

    fn view_topbar(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let speed_v = self.speed.log10();
        let t = self.sim.now_us();
        let clock = format!("{}.{:03} s", t / 1_000_000, (t / 1000) % 1000);
        let title = self.sim.scenario.title.clone();
        html! {
            <header class="topbar">
                <div class="brand" title="QueueLab: a deterministic message-broker simulator">{"Queue"}<b>{"Lab"}</b></div>
                if !self.embed {
                    <select id="preset" class="preset" aria-label="Scenario"
                        onchange={link.callback(|e: Event| Msg::Preset(e.target_unchecked_into::<HtmlSelectElement>().value()))}>
                        if self.preset.is_empty() {
                            <option value="" selected=true>{ format!("Custom: {title}") }</option>
                        }
                        { for scenario::presets().iter().map(|p| {
                            let sc_title = views::preset_title(p);
                            html! { <option value={p.name} selected={p.name == self.preset} title={p.name}>{ sc_title }</option> }
                        }) }
                    </select>
                } else {
                    <span class="embed-title">{ title }</span>
                }
                <button id="play" class={classes!("btn", "primary", self.playing.then_some("playing"))}
                    title="Play / pause (space)"
                    onclick={link.callback(|_| Msg::TogglePlay)}>
                    { if self.playing { "❚❚ Pause" } else { "▶ Play" } }
                </button>
                <button id="step" class="btn" title="Process exactly one engine event (.)" onclick={link.callback(|_| Msg::Step)}>{"Step"}</button>
                <div class="clock" id="clock" title="Simulated time">
                    <span class="lbl">{"t ="}</span>{ clock }
                </div>
                <label class="speed" title="Simulation speed, 0.1× to 1000× (log scale)">
                    <span class="lbl">{"Speed"}</span>
                    <input id="speed" type="range" min="-1" max="3" step="0.01" value={format!("{speed_v:.2}")}
                        oninput={link.callback(|e: InputEvent| Msg::Speed(e.target_unchecked_into::<HtmlInputElement>().value().parse().unwrap_or(0.0)))} />
                    <span id="speed-label" class="speed-val">{ views::fmt_speed(self.speed) }</span>
                </label>
                if !self.embed {
                    <label class="seed" title="Seed of the random streams: same seed, same run">
                        <span class="lbl">{"Seed"}</span>
                        <input id="seed" type="text" inputmode="numeric" value={self.seed_text.clone()}
                            oninput={link.callback(|e: InputEvent| Msg::SeedText(e.target_unchecked_into::<HtmlInputElement>().value()))}
                            onkeydown={link.batch_callback(|e: KeyboardEvent| (e.key() == "Enter").then_some(Msg::Restart(false)))} />
                    </label>
                    <button id="restart" class="btn" title="Restart from t = 0 with this seed" onclick={link.callback(|_| Msg::Restart(false))}>{"↺"}<span class="txt">{" Restart"}</span></button>
                    <button id="new-seed" class="btn" title="Restart with a new random seed" onclick={link.callback(|_| Msg::Restart(true))}>{"New seed"}</button>
                }

                if self.sim.throttled && self.playing {
                    <span id="throttled" class="badge warn" title="The per-frame event cap is binding: the simulation runs slower than the chosen speed">{"throttled"}</span>
                }
                <div class="spacer"></div>
                if !self.embed {
                    if self.side_hidden {
                        <button class="btn" id="show-side" title="Show the inspector panel" onclick={link.callback(|_| Msg::TogglePanel(2))}>{"⟨ Inspector"}</button>
                    }
                    <button class="btn narrow-only" id="toggle-side" onclick={link.callback(|_| Msg::TogglePanel(0))}>{"Inspector"}</button>
                    <button class="btn narrow-only" id="toggle-bottom" onclick={link.callback(|_| Msg::TogglePanel(1))}>{"Charts"}</button>
                }
                <button id="theme" class="btn icon" title="Light / dark theme" onclick={link.callback(|_| Msg::ToggleTheme)}>
                    { if self.dark { "☀" } else { "☾" } }
                </button>
            </header>
        }
    }

    fn view_scrubber(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let max_ms = (self.sim.horizon_us / 1000).max(1);
        let cur_ms = self.sim.now_us() / 1000;
        html! {
            <div class="scrubber" title="Timeline: drag back to rewind, forward to return">
                <span class="lbl">{"Timeline"}</span>
                <div class="track">
                    <input id="scrubber" type="range" min="0" max={max_ms.to_string()} step="1" value={cur_ms.to_string()}
                        oninput={link.callback(|e: InputEvent| {
                            let v: u64 = e.target_unchecked_into::<HtmlInputElement>().value().parse().unwrap_or(0);
                            Msg::Seek(v * 1000)
                        })} />
                    { for self.sim.script().iter().map(|c| {
                        let frac = (c.at_us as f64 / self.sim.horizon_us.max(1) as f64).clamp(0.0, 1.0);
                        html! {
                            <span class="marker" title={format!("{:.3} s: {}", c.at_us as f64 / 1e6, c.command.describe())}
                                style={format!("left: calc(8px + (100% - 16px) * {frac:.5})")}></span>
                        }
                    }) }
                    { for self.sim.scenario.schedule.iter().filter(|c| c.at.0 <= self.sim.horizon_us).map(|c| {
                        let frac = (c.at.0 as f64 / self.sim.horizon_us.max(1) as f64).clamp(0.0, 1.0);
                        html! {
                            <span class="marker sched" title={format!("{} (scheduled): {}", c.at, c.command.describe())}
                                style={format!("left: calc(8px + (100% - 16px) * {frac:.5})")}></span>
                        }
                    }) }
                </div>
                <span class="scrub-val">{ format!("{} / {}", fmt_secs(self.sim.now_us()), fmt_secs(self.sim.horizon_us)) }</span>
                <span class="events" title="Engine events processed">{ format!("{} events", self.sim.engine.events()) }</span>
            </div>
        }
    }

    fn view_inspector(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let err = self
            .command_error
            .as_ref()
            .map(|e| html! { <div class="error" id="command-error">{ e }</div> });
        if let Some(m) = self.sel_msg {
            return html! { <>{ err }{ views::journey(m, &self.sim, link.callback(|_| Msg::SelectMessage(None))) }</> };
        }
        let Some(i) = self.sel_node else {
            let desc = self.sim.scenario.description.clone();
            return html! {
                <div class="inspect-empty">
                    { err }
                    <h2>{ self.sim.scenario.title.clone() }</h2>
                    <p class="desc">{ desc }</p>
                    <p class="hint">{"Click a node on the canvas to inspect it and change its knobs while it runs. Click a message square or a log line to follow its journey."}</p>
                    { views::command_list(&self.sim) }
                </div>
            };
        };
        let Some(nv) = self.snap.nodes.get(i) else {
            return html! {};
        };
        let cfg = self.sim.engine.config();
        let body = match nv {
            NodeView::Producer {
                id,
                to,
                rate_per_s,
                paused,
                published,
            } => {
                let rate_per_s = *rate_per_s;
                let pid = id.clone();
                let p1 = id.clone();
                let p2 = id.clone();
                let p3 = id.clone();
                let pc = cfg.producers.iter().find(|p| &p.id == id);
                let p4 = id.clone();
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
                    .map(|p| format!("{:?}", p.arrival).to_lowercase())
                    .unwrap_or_default();
                html! {
                    <>
                    <dl class="stats">
                        <dt>{"publishes to"}</dt><dd>{ to }</dd>
                        <dt>{"published"}</dt><dd>{ published }</dd>
                        <dt>{"arrivals"}</dt><dd>{ arrival }</dd>
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
                    </>
                }
            }
            NodeView::Exchange {
                exchange_kind,
                routed,
                unroutable,
                id,
            } => {
                let ex = cfg.exchanges.iter().find(|x| &x.id == id);
                html! {
                    <>
                    <dl class="stats">
                        <dt>{"type"}</dt><dd>{ exchange_kind }</dd>
                        <dt>{"routed"}</dt><dd>{ routed }</dd>
                        <dt>{"unroutable"}</dt><dd>{ unroutable }</dd>
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
            NodeView::Queue {
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
            } => {
                let q = cfg.queues.iter().find(|q| &q.id == id);
                let overflow = q.map(|q| q.overflow).unwrap_or_default();
                let (q1, q2, q3, q4) = (id.clone(), id.clone(), id.clone(), id.clone());
                let dlx = q
                    .and_then(|q| q.dead_letter_exchange.clone())
                    .unwrap_or_else(|| "none".into());
                html! {
                    <>
                    <dl class="stats">
                        <dt>{"ready"}</dt><dd id="queue-depth">{ depth }</dd>
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
                    <h3>{ format!("Contents, head first ({depth})") }</h3>
                    { views::message_table(head, link.callback(|m: u64| Msg::SelectMessage(Some(m)))) }
                    </>
                }
            }
            NodeView::Consumer {
                id,
                queue,
                prefetch,
                processed,
                failed,
                acked,
                nacked,
                instances,
            } => {
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
                html! {
                    <>
                    <dl class="stats">
                        <dt>{"reads from"}</dt><dd>{ queue }</dd>
                        <dt>{"processed"}</dt><dd id="consumer-processed">{ processed }</dd>
                        <dt>{"failed"}</dt><dd>{ failed }</dd>
                        <dt>{"acked / nacked"}</dt><dd>{ format!("{acked} / {nacked}") }</dd>
                        <dt>{"service time"}</dt><dd>{ format!("{:.1} ms, {}", knobs::service_ms(&c.service), knobs::service_kind(&c.service)) }</dd>
                        if let Some(r) = &retry {
                            <dt>{"retry"}</dt><dd>{ format!("{} attempts, {}, {:?}", r.max_attempts, knobs::backoff_text(&r.backoff), r.mode).to_lowercase() }</dd>
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
                                let v: f64 = e.target_unchecked_into::<HtmlInputElement>().value().parse().unwrap_or(0.0);
                                Msg::Cmd(Some(Command::SetFailureRate { consumer: c5.clone(), failure_rate: (v / 100.0).clamp(0.0, 1.0) }))
                            })} />
                    </div>
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
                            <option value="after_processing" selected={c.ack == AckMode::AfterProcessing}>{"after processing (at-least-once)"}</option>
                            <option value="auto" selected={c.ack == AckMode::Auto}>{"auto-ack on delivery (at-most-once)"}</option>
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
                                    Msg::Cmd(v.trim().parse::<f64>().ok().filter(|x| x.is_finite()).map(|ms| knobs::retry_with(&c10, None, Some(ms))))
                                })} />
                        </div>
                    </div>
                    <div class="knob row">
                        <button class="btn danger" id="crash-one" disabled={crash_one.is_none()} onclick={link.callback(move |_| Msg::Cmd(Some(Command::CrashConsumer { consumer: c4.id.clone(), instance: crash_one, restart_after: Some(crate::scenario::Duration::from_s(3)) })))}>{"Crash 1 (restart in 3 s)"}</button>
                        <button class="btn" id="restart-all" onclick={link.callback(move |_| Msg::Cmd(Some(Command::RestartConsumer { consumer: c12.clone(), instance: None })))}>{"Restart all"}</button>
                    </div>
                    <h3>{"Deliveries in progress"}</h3>
                    { views::instances_table(instances, link.callback(|m: u64| Msg::SelectMessage(Some(m)))) }
                    </>
                }
            }
            // Topics and consumer groups are drawn by the stream UI (issue 8 §3).
            NodeView::Topic(_) | NodeView::Group(_) => html! {},
        };
        let kind = self
            .layout
            .nodes
            .get(i)
            .map(|n| n.kind)
            .unwrap_or(NodeKind::Queue);
        html! {
            <div class="inspector" id="inspector">
                { err }
                <div class="insp-head">
                    <span class="kind">{ format!("{kind:?}").to_uppercase() }</span>
                    <h2 id="inspector-title">{ nv.id().to_string() }</h2>
                    <button class="btn icon close" title="Close" onclick={link.callback(|_| Msg::SelectNode(None))}>{"✕"}</button>
                </div>
                { body }
            </div>
        }
    }

    fn view_editor(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        html! {
            <div class="editor">
                <p class="hint">{"Edit the scenario and apply: the simulation restarts with it. Errors name the field's path; the current run keeps going until the scenario is valid."}</p>
                <div class="row">
                    <button id="editor-apply" class="btn primary" onclick={link.callback(|_| Msg::EditorApply)}>{"Apply & restart"}</button>
                    <button id="editor-revert" class="btn" onclick={link.callback(|_| Msg::EditorRevert)}>{"Show running scenario"}</button>
                </div>
                if let Some(n) = &self.editor_note { <div class="ok">{ n }</div> }
                if !self.editor_errors.is_empty() {
                    <div class="error" id="editor-errors">
                        <b>{ format!("{} problem(s) — nothing was applied:", self.editor_errors.len()) }</b>
                        <ul>
                            { for self.editor_errors.iter().map(|i| html! {
                                <li><code class="path">{ if i.path.is_empty() { "(document)".to_string() } else { i.path.clone() } }</code>{" "}{ i.message.clone() }</li>
                            }) }
                        </ul>
                    </div>
                }
                <textarea id="scenario-editor" spellcheck="false" value={self.editor_text.clone()}
                    oninput={link.callback(|e: InputEvent| Msg::EditorText(e.target_unchecked_into::<HtmlTextAreaElement>().value()))} />
            </div>
        }
    }

    fn view_log(&self, ctx: &Context<Self>) -> Html {
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

fn best_layout(sim: &Sim, w: f64, h: f64) -> Layout {
    let plain = Layout::compute(&sim.engine, &sim.scenario.layout, usize::MAX / 4);
    let ncol = plain.columns();
    let mut best_scale = View::fit(&plain, w, h).node_scale;
    let mut best = plain;
    if sim.scenario.layout.is_empty() {
        for segs in 2..=3usize {
            if ncol < segs * 2 {
                break;
            }
            let l = Layout::compute(&sim.engine, &sim.scenario.layout, ncol.div_ceil(segs));
            let sc = View::fit(&l, w, h).node_scale;
            if sc > best_scale * 1.15 {
                best_scale = sc;
                best = l;
            }
        }
    }
    best
}

fn rate_per_s_half(r: f64) -> f64 {
    (r / 2.0 * 1000.0).round() / 1000.0
}

fn fmt_secs(us: u64) -> String {
    format!("{:.1} s", us as f64 / 1e6)
}

/// A canvas sized to its CSS box at the device pixel ratio.
struct CanvasFit {
    /// CSS pixels.
    w: f64,
    h: f64,
    dpr: f64,
    /// The backing store changed size (its context state was reset).
    resized: bool,
}

/// Size `canvas`'s backing store to its CSS box × device pixel ratio (capped
/// at 3); None while it is too small to draw in.
fn fit_canvas(canvas: &HtmlCanvasElement) -> Option<CanvasFit> {
    let w = canvas.client_width() as f64;
    let h = canvas.client_height() as f64;
    if w < 2.0 || h < 2.0 {
        return None;
    }
    let dpr = web_sys::window()
        .map(|w| w.device_pixel_ratio())
        .unwrap_or(1.0)
        .clamp(1.0, 3.0);
    let (pw, ph) = ((w * dpr).round() as u32, (h * dpr).round() as u32);
    let resized = canvas.width() != pw || canvas.height() != ph;
    if resized {
        canvas.set_width(pw);
        canvas.set_height(ph);
    }
    Some(CanvasFit { w, h, dpr, resized })
}

fn context_2d(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok())
}
