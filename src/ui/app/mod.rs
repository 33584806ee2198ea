//! The one stateful component: `App` owns the `Sim` (engine + timeline), the
//! token animations and the frame loop; everything else is rendered from them.
//!
//!   requestAnimationFrame ──Msg::Frame──► Sim::advance ──► Tokens::ingest ──► paint canvas
//!                                            ▲                                  │
//!   clicks, knobs, scrubber ──Msg──► Command / seek / restart                   └─► DOM at 10 Hz
//!
//! Where things are:
//!
//!   mod.rs        App state, Msg, creation, shared state helpers
//!   frame.rs      the frame loop: advance, paint the topology and the charts
//!   update.rs     one handler per Msg, grouped (playback, selection, log, editor, panels)
//!   pointer.rs    canvas picking and node dragging
//!   page.rs       the page shell that places the panels
//!   topbar.rs     top bar and timeline scrubber
//!   inspector.rs  inspector panel (per node kind, with its knobs)
//!   inspector_faults.rs  protocol-point crashes, fault probabilities, dedup, confirms
//!   inspector_brokers.rs Redis, SQS and Pulsar panels and their knobs
//!   editor.rs     scenario JSON editor (line numbers, jump to an error's line)
//!   lesson.rs     the guided-lesson player (picker, steps, predict, outcome)
//!   builder.rs    topology builder: palette drops, connect drags, undo/redo
//!   builder_view.rs  palette, builder tool bar, property form
//!   log.rs        virtualised, filterable event log
//!   ledger.rs     the delivery ledger strip, the guarantee dial, "why?" examples
//!   compare.rs    variants side by side: lane columns under the one timeline
//!   animation.rs  the GIF export of a span, rendered from a fork of the Sim
//!   sweep.rs      the what-if sweep panel (runs in a web worker)
//!
//! Painting the canvases is the only effect of a frame; DOM updates are
//! limited to ten per second so the page stays cheap at 60 fps. Views are
//! `&self -> Html` and send `Msg`s up; handlers never touch the DOM beyond
//! repainting a paused canvas.

mod animation;
mod builder;
mod builder_view;
mod compare;
mod editor;
mod frame;
mod inspector;
mod inspector_brokers;
mod inspector_faults;
mod inspector_stream;
mod ledger;
mod lesson;
mod log;
mod page;
mod pointer;
mod share;
mod sweep;
mod topbar;
mod update;

use super::layout::{Layout, NORMAL, PRESENTER};
use super::params::Params;
use super::render::{Hit, View};
use super::sim::Sim;
use super::tokens::Tokens;
use crate::engine::{Command, Snapshot};
use crate::scenario::{self, ScenarioIssue};
use builder::BuildMsg;
use frame::now_ms;
use gloo::render::AnimationFrame;
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};
use yew::prelude::*;

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
    /// A knob whose text did not parse carries the error naming its field.
    Knob(Result<Command, String>),
    LogScroll(f64, bool),
    FilterNode(String),
    FilterKind(String),
    FilterMessage(String),
    EditorText(String),
    EditorApply,
    EditorRevert,
    /// Give the JSON editor more room (fold the charts and log) or less.
    EditorRoom,
    Tab(Tab),
    ToggleTheme,
    /// 0: the side drawer, 1: the charts drawer (narrow screens); 2: fold
    /// the side panel, 3: fold the charts and log (wide screens).
    TogglePanel(u8),
    /// Presenter mode on/off (button, `p`).
    TogglePresenter,
    /// Leave presenter mode (Escape).
    ExitPresenter,
    /// Presenter mode: show this chart large beside the picture (None: hide).
    BigChart(Option<usize>),
    /// Zoom by a factor about a canvas point (None: the canvas centre).
    Zoom(f64, Option<(f64, f64)>),
    /// Pan by (dx, dy) CSS px.
    Pan(f64, f64),
    /// Back to the fitted view.
    ResetView,
    /// Share and embed (see `share.rs`).
    CopyLink,
    CloseShare,
    Extend,
    CloseSummary,
    CloseVariantsHint,
    Embed(Result<crate::ui::embed::Inbound, String>),
    Visible(bool),
    /// Download: "svg", "png", "csv" or "jsonl" (see `ui::exports`).
    Export(String),
    /// The animation export (see `animation.rs`).
    Gif(animation::GifMsg),
    /// The sweep panel (see `sweep.rs`).
    Sweep(sweep::SweepMsg),
    /// The lesson player (see `lesson.rs`).
    Lesson(lesson::LessonMsg),
    /// The topology builder (see `builder.rs`).
    Build(builder::BuildMsg),
    /// Show or hide the delivery ledger strip.
    ToggleLedger,
    /// Variants side by side on or off.
    ToggleCompare,
    /// The ledger's "Why?": the explanation and examples in the inspector.
    LedgerWhy,
    /// The pointer left the canvas.
    Leave,
    Noop,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Tab {
    Inspect,
    Scenario,
    Lesson,
    Sweep,
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
    /// After a refused Apply: move the caret to the first problem once rendered.
    editor_jump: bool,
    /// The editor takes the panel's full height (charts and log folded; the default).
    editor_room: bool,
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
    /// Charts and log folded away to give the canvas their height.
    bottom_hidden: bool,
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
    /// The canvas was repainted after a DOM change resized it: the next
    /// frame re-renders the DOM so `data-boxes` and friends match it.
    dom_stale: bool,
    view: View,
    hits: Vec<Hit>,
    drag: Option<(usize, f64, f64, bool)>,
    frames: u32,
    fps: f64,
    fps_since: f64,
    /// Presenter mode: panels folded, large type (see `layout::PRESENTER`).
    presenter: bool,
    /// Presenter mode: the chart shown large, if any (index into `ChartKind::ALL`).
    big_chart: Option<usize>,
    /// The user's zoom and pan on top of the fitted view.
    zoom: f64,
    pan: (f64, f64),
    /// Background drag in progress: last pointer position and whether it moved.
    panning: Option<(f64, f64, bool)>,
    /// Tokens not drawn per second (the frame cap bound), for the legend strip.
    not_drawn_per_s: u64,
    /// Texts the last frame drew smaller than their style (0 when boxes fit).
    squeezed: u32,
    /// What the last frame drew of topics and groups (for tests: `data-streams`).
    streams_drawn: crate::ui::render::streams::StreamStats,
    /// Simulated µs per wall µs over the last frames (smoothed), shown when throttled.
    effective_speed: f64,
    /// The engine's share of each frame, adapted to the page (`frame_budget.rs`).
    budget: crate::ui::frame_budget::FrameBudget,
    /// Share links, embed API, end of run (`share.rs`).
    share: share::ShareState,
    /// The open lesson, if any (`lesson.rs`).
    lesson: Option<lesson::LessonState>,
    /// The topology builder: mode, undo/redo stacks, drags in progress.
    builder: builder::Builder,
    /// The ledger strip: None follows the scenario (shown when it is about
    /// delivery guarantees), Some is the user's choice.
    ledger_open: Option<bool>,
    /// Variants side by side (`compare.rs`): the lanes' engines, if comparing.
    lanes: Option<crate::ui::lanes::Lanes>,
    lane_canvases: [NodeRef; crate::ui::lanes::LANES_MAX],
    /// Each lane's topology layout (computed when the lanes are built).
    lane_layouts: Vec<Layout>,
    /// Some lane is behind the main clock (the clock waits for it).
    lanes_behind: bool,
    last_lane_paint: f64,
    /// Once rendered, scroll the inspector to the ledger's details.
    ledger_scroll: bool,
    /// The animation export's dialog and job.
    gif: animation::GifState,
    /// The sweep panel's form, worker and answer.
    sweep: sweep::SweepState,
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
        best_layout(&self.sim, w, h, self.presenter)
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
        crate::ui::set_reproduction(&self.sim.reproduction());
    }

    fn restart_with(&mut self, sim: Sim) {
        self.sim = sim;
        self.sel_node = None;
        self.reset_views();
        self.lanes_follow_restart();
    }

    fn ingest(&mut self, evs: &[crate::engine::TraceEvent]) {
        self.tokens.ingest(evs, now_ms(), self.speed);
    }

    fn submit(&mut self, cmd: Command) {
        match self.sim.submit(cmd) {
            Ok(evs) => {
                self.command_error = None;
                self.ingest(&evs);
                self.layout = self.compute_layout();
                self.snap = self.sim.engine.snapshot();
                self.charts_dirty = true;
                crate::ui::set_reproduction(&self.sim.reproduction());
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
        let share::Initial {
            sim,
            preset,
            json,
            notice,
            view: link_view,
            fragment,
        } = App::initial(&params);
        let layout = best_layout(&sim, 900.0, 450.0, params.presenter);
        // The viewport at start decides which panels start folded (0: unknown).
        let px = |v: Result<wasm_bindgen::JsValue, _>| v.ok().and_then(|v| v.as_f64());
        let (viewport_w_px, viewport_h_px) = web_sys::window()
            .map(|w| (px(w.inner_width()), px(w.inner_height())))
            .map_or((0.0, 0.0), |(w, h)| (w.unwrap_or(0.0), h.unwrap_or(0.0)));
        let snap = sim.engine.snapshot();
        crate::ui::set_reproduction(&sim.reproduction());
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
            editor_jump: false,
            editor_room: true,
            command_error: None,
            filter_node: None,
            filter_kind: String::new(),
            filter_msg: String::new(),
            log_scroll: 0.0,
            log_follow: true,
            show_side: false,
            side_hidden: crate::ui::params::side_folded_at_start(
                params.side,
                params.lesson.is_some(),
                viewport_w_px,
                viewport_h_px,
            ),
            bottom_hidden: crate::ui::params::charts_folded_at_start(
                params.charts,
                params.lesson.is_some(),
                viewport_w_px,
                viewport_h_px,
            ),
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
            dom_stale: false,
            view: View::default(),
            hits: Vec::new(),
            drag: None,
            frames: 0,
            fps: 0.0,
            fps_since: 0.0,
            presenter: params.presenter,
            big_chart: None,
            zoom: 1.0,
            pan: (0.0, 0.0),
            panning: None,
            not_drawn_per_s: 0,
            squeezed: 0,
            streams_drawn: Default::default(),
            effective_speed: 1.0,
            budget: Default::default(),
            share: share::ShareState::default(),
            lesson: None,
            builder: builder::Builder::default(),
            ledger_open: None,
            lanes: None,
            lane_canvases: Default::default(),
            lane_layouts: Vec::new(),
            lanes_behind: false,
            last_lane_paint: 0.0,
            ledger_scroll: false,
            gif: Default::default(),
            sweep: Default::default(),
        };
        app.share.notice = notice;
        app.share.address.written = fragment;
        app.apply_view(&link_view, Params::has_speed());
        app.install_embed(ctx);
        app.schedule(ctx);
        app._keys = keyboard_shortcuts(ctx.link().clone());
        if let Some((name, step)) = &params.lesson {
            app.open_lesson(name, step.saturating_sub(1));
        }
        if params.panic_test {
            ctx.link().send_message(Msg::Noop);
        }
        crate::ui::set_theme_class(app.dark);
        app
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        self.handle(ctx, msg)
    }

    fn rendered(&mut self, _ctx: &Context<Self>, first: bool) {
        self.rendered_inner(first);
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        self.view_all(ctx)
    }
}

/// Largest zoom the fitted view uses: small graphs do not become posters.
fn max_fit_scale(presenter: bool) -> f64 {
    if presenter {
        1.5
    } else {
        1.4
    }
}

/// Lay out `sim`'s topology for a `w`×`h` canvas: unwrapped, or wrapped into
/// two or three segments when that makes the picture clearly bigger; in
/// presenter mode a big fan-out's parallel chains may fold into columns.
fn best_layout(sim: &Sim, w: f64, h: f64, presenter: bool) -> Layout {
    let style = if presenter { &PRESENTER } else { &NORMAL };
    let max = max_fit_scale(presenter);
    let plain = Layout::compute_styled(&sim.engine, &sim.scenario.layout, usize::MAX / 4, style);
    let ncol = plain.columns();
    let mut best_scale = View::fit(&plain, w, h, max).scale;
    let mut best = plain;
    if sim.scenario.layout.is_empty() {
        for segs in 2..=3usize {
            if ncol < segs * 2 {
                break;
            }
            let l = Layout::compute_styled(
                &sim.engine,
                &sim.scenario.layout,
                ncol.div_ceil(segs),
                style,
            );
            let sc = View::fit(&l, w, h, max).scale;
            if sc > best_scale * 1.15 {
                best_scale = sc;
                best = l;
            }
        }
        // Presenter mode: a big fan-out into parallel chains folds into
        // columns when that makes the picture clearly bigger (fanout-large).
        if presenter {
            let base = best.clone();
            for fold in 2..=4usize {
                let Some(l) = base.fold_parallel_tail(fold) else {
                    break;
                };
                let sc = View::fit(&l, w, h, max).scale;
                if sc > best_scale * 1.15 && l.overlaps().is_empty() {
                    best_scale = sc;
                    best = l;
                }
            }
        }
    }
    best
}

/// Document-wide shortcuts, ignored while typing in a field; dropped with
/// the app: space play/pause, period step, `p` presenter mode (Escape
/// leaves it), `+`/`-` zoom, `0` fit, arrows pan; builder: `b` on/off,
/// Delete removes the selected node, Ctrl+Z / Ctrl+Shift+Z (Ctrl+Y) undo and redo.
fn keyboard_shortcuts(link: yew::html::Scope<App>) -> Option<gloo::events::EventListener> {
    let doc = web_sys::window().and_then(|w| w.document())?;
    let opts = gloo::events::EventListenerOptions::enable_prevent_default();
    Some(gloo::events::EventListener::new_with_options(
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
            if typing {
                return;
            }
            if (e.ctrl_key() || e.meta_key()) && !e.alt_key() {
                // Undo and redo of scenario edits (text fields keep their own).
                match e.key().as_str() {
                    "z" | "Z" if e.shift_key() => link.send_message(Msg::Build(BuildMsg::Redo)),
                    "z" | "Z" => link.send_message(Msg::Build(BuildMsg::Undo)),
                    "y" | "Y" => link.send_message(Msg::Build(BuildMsg::Redo)),
                    _ => return,
                }
                e.prevent_default();
                return;
            }
            if e.ctrl_key() || e.meta_key() || e.alt_key() {
                return;
            }
            match e.key().as_str() {
                " " => {
                    e.prevent_default();
                    link.send_message(Msg::TogglePlay);
                }
                "." => link.send_message(Msg::Step),
                "p" | "P" => link.send_message(Msg::TogglePresenter),
                "b" | "B" => link.send_message(Msg::Build(BuildMsg::Toggle)),
                "Delete" | "Backspace" => link.send_message(Msg::Build(BuildMsg::DeleteKey)),
                "Escape" => link.send_message(Msg::ExitPresenter),
                "+" | "=" => link.send_message(Msg::Zoom(1.25, None)),
                "-" | "_" => link.send_message(Msg::Zoom(0.8, None)),
                "0" => link.send_message(Msg::ResetView),
                k @ ("ArrowLeft" | "ArrowRight" | "ArrowUp" | "ArrowDown") => {
                    e.prevent_default();
                    let d = 60.0;
                    let (dx, dy) = match k {
                        "ArrowLeft" => (d, 0.0),
                        "ArrowRight" => (-d, 0.0),
                        "ArrowUp" => (0.0, d),
                        _ => (0.0, -d),
                    };
                    link.send_message(Msg::Pan(dx, dy));
                }
                _ => {}
            }
        },
    ))
}
