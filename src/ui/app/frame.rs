//! The frame loop: one `requestAnimationFrame` callback per frame advances the
//! engine (bounded by its share of the frame, `frame_budget.rs`), feeds the token animations and paints
//! the canvases; the DOM is re-rendered at most ten times a second.
//!
//!   rAF ──Msg::Frame(ts)──► Sim::advance ──► Tokens::ingest ──► paint topology
//!                                                                 ├─► charts every 250 ms
//!                                                                 └─► DOM at 10 Hz
//!
//! Painting is the only effect here; nothing in this file changes the scenario.

use super::{App, Msg};
use crate::ui::charts::{self, ChartKind};
use crate::ui::render::{self, View, DARK, LIGHT};
use gloo::render::request_animation_frame;
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, HtmlElement};
use yew::prelude::*;

pub(super) fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

impl App {
    /// Centre of the topology canvas [CSS px].
    pub(super) fn canvas_center(&self) -> (f64, f64) {
        self.canvas
            .cast::<HtmlCanvasElement>()
            .map(|c| {
                (
                    c.client_width() as f64 / 2.0,
                    c.client_height() as f64 / 2.0,
                )
            })
            .unwrap_or((450.0, 225.0))
    }

    /// One animation frame: advance the engine while playing, then paint.
    /// Returns whether the DOM should re-render.
    pub(super) fn on_frame(&mut self, ctx: &Context<Self>, ts: f64) -> bool {
        let dt = self
            .last_ts
            .map(|l| (ts - l).clamp(0.0, 100.0))
            .unwrap_or(16.0);
        self.last_ts = Some(ts);
        let mut lanes_dom = false;
        if self.comparing() {
            // Variants side by side: the frame's engine budget is split
            // between the main simulation and the lanes (see compare.rs).
            let dt_us = if self.playing {
                (dt * 1000.0 * self.speed).round() as u64
            } else {
                0
            };
            let evs = self.advance_compare(dt_us);
            if self.playing {
                self.tokens.ingest(&evs, ts, self.speed);
                self.snap = self.sim.engine.snapshot();
            }
            if ts - self.last_lane_paint >= 100.0 {
                self.last_lane_paint = ts;
                self.paint_lanes();
                lanes_dom = true;
            }
        } else if self.playing {
            let dt_us = (dt * 1000.0 * self.speed).round() as u64;
            // Leave time for drawing: stop the engine after its share of
            // the frame (`frame_budget.rs` sizes it from the frame intervals).
            let started = now_ms();
            let t0_us = self.sim.engine.now().0;
            let engine_ms = self.budget.engine_ms();
            let evs = self.sim.advance(dt_us, &|| now_ms() - started > engine_ms);
            if dt > 0.0 {
                let reached = self.sim.engine.now().0.saturating_sub(t0_us) as f64 / (dt * 1000.0);
                // Smooth over ~10 frames so the label is readable.
                self.effective_speed = 0.9 * self.effective_speed + 0.1 * reached;
            }
            self.tokens.ingest(&evs, ts, self.speed);
            self.snap = self.sim.engine.snapshot();
        }
        let wanted_more = self.sim.throttled || (self.comparing() && self.lanes_behind);
        self.budget.observe(dt, self.playing && wanted_more);
        self.tokens.prune(ts);
        self.not_drawn_per_s = self.tokens.overflow.values().map(|a| a.rate()).sum();
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
        let hooked =
            self.frame_hooks(ts) | self.lesson_tick() | std::mem::take(&mut self.dom_stale);
        self.schedule(ctx);
        if hooked
            || view_changed
            || lanes_dom
            || (ts - self.last_dom_ms >= 100.0 && (self.playing || self.bench_tokens > 0))
        {
            self.last_dom_ms = ts;
            return true;
        }
        false
    }

    pub(super) fn paint(&mut self, now: f64) {
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
            let max = super::max_fit_scale(self.presenter);
            self.view = View::fit(&self.layout, w, h, max).then(self.zoom, self.pan.0, self.pan.1);
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
        let drawn = render::draw(&frame);
        // The lesson step's nodes: a dashed accent ring around each.
        let ring = self.lesson_highlight();
        if !ring.is_empty() {
            let th = if self.dark { &DARK } else { &LIGHT };
            ctx.set_stroke_style_str(th.accent);
            ctx.set_line_width(3.0);
            let _ = ctx.set_line_dash(&render::js_dash(&[6.0, 4.0]));
            for i in ring {
                let r = self.view.rect(&self.layout.nodes[i].rect());
                ctx.begin_path();
                let _ = ctx.round_rect_with_f64(
                    r.x0 - 6.0,
                    r.y0 - 6.0,
                    r.w() + 12.0,
                    r.h() + 12.0,
                    10.0,
                );
                ctx.stroke();
            }
            let _ = ctx.set_line_dash(&render::js_dash(&[]));
        }
        self.hits = drawn.hits;
        self.squeezed = drawn.squeezed;
        self.streams_drawn = drawn.streams;
        self.paint_builder(w, h);
    }

    pub(super) fn paint_charts(&mut self) {
        let th = if self.dark { &DARK } else { &LIGHT };
        let queues: Vec<String> = self
            .sim
            .engine
            .config()
            .queues
            .iter()
            .map(|q| q.id.clone())
            .collect();
        let groups: Vec<String> = self
            .sim
            .engine
            .config()
            .consumer_groups
            .iter()
            .map(|g| g.id.clone())
            .chain(
                self.sim
                    .engine
                    .config()
                    .pulsar_subscriptions
                    .iter()
                    .map(|s| s.id.clone()),
            )
            .collect();
        let throughput = charts::Throughput::of(self.sim.engine.config());
        // Rebalances, on the chart that shows the groups' lag.
        let rebalances: Vec<f64> = self
            .rebalance_marks()
            .iter()
            .map(|(t, _)| *t as f64 / 1e6)
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
            // The big presenter chart draws at 1.6× type and strokes.
            let z = if self.presenter { 1.6 } else { 1.0 };
            let _ = ctx.set_transform(dpr * z, 0.0, 0.0, dpr * z, 0.0, 0.0);
            let lines = charts::lines(*kind, self.sim.chart_series(), &queues, &groups, throughput);
            // The drawn lines' names, for tests and assistive tools.
            let names: Vec<&str> = lines.iter().map(|l| l.name.as_str()).collect();
            let _ = canvas.set_attribute("data-lines", &names.join(","));
            let marks: &[f64] = if *kind == ChartKind::Depth {
                &rebalances
            } else {
                &[]
            };
            charts::draw(&ctx, w / z, h / z, th, *kind, &lines, x_max, cursor, marks);
        }
        self.charts_dirty = false;
    }

    pub(super) fn schedule(&mut self, ctx: &Context<Self>) {
        let link = ctx.link().clone();
        self.raf = Some(request_animation_frame(move |ts| {
            link.send_message(Msg::Frame(ts))
        }));
    }

    pub(super) fn rendered_inner(&mut self, first: bool) {
        // A DOM change (a summary, a panel) can resize the canvas between two
        // frames; repaint now so no frame shows the picture at the old size.
        if let Some(c) = self.canvas.cast::<HtmlCanvasElement>() {
            if !first && canvas_stale(&c) {
                self.paint(now_ms());
                self.dom_stale = true;
            }
        }
        if self.log_follow {
            if let Some(el) = self.log_ref.cast::<HtmlElement>() {
                el.set_scroll_top(el.scroll_height());
            }
        }
        if first || self.charts_dirty {
            self.paint_charts();
        }
        self.lesson_rendered();
        if std::mem::take(&mut self.ledger_scroll) {
            scroll_side_to("ledger-details");
        }
        if std::mem::take(&mut self.sweep.scroll) {
            scroll_side_to("sweep-result");
        }
        if std::mem::take(&mut self.editor_jump) {
            let line = self
                .editor_errors
                .first()
                .and_then(|i| super::editor::issue_line(&self.editor_text, i));
            if let Some(l) = line {
                super::editor::jump_to_line(l);
            }
        }
    }
}

/// A canvas sized to its CSS box at the device pixel ratio.
pub(super) struct CanvasFit {
    /// CSS pixels.
    pub(super) w: f64,
    pub(super) h: f64,
    pub(super) dpr: f64,
    /// The backing store changed size (its context state was reset).
    resized: bool,
}

/// Size `canvas`'s backing store to its CSS box × device pixel ratio (capped
/// at 3); None while it is too small to draw in.
pub(super) fn fit_canvas(canvas: &HtmlCanvasElement) -> Option<CanvasFit> {
    let w = canvas.client_width() as f64;
    let h = canvas.client_height() as f64;
    if w < 2.0 || h < 2.0 {
        return None;
    }
    let dpr = device_ratio();
    let (pw, ph) = ((w * dpr).round() as u32, (h * dpr).round() as u32);
    let resized = canvas.width() != pw || canvas.height() != ph;
    if resized {
        canvas.set_width(pw);
        canvas.set_height(ph);
    }
    Some(CanvasFit { w, h, dpr, resized })
}

/// The device pixel ratio, capped at 3.
fn device_ratio() -> f64 {
    web_sys::window()
        .map(|w| w.device_pixel_ratio())
        .unwrap_or(1.0)
        .clamp(1.0, 3.0)
}

/// The canvas's CSS box no longer matches its backing store.
fn canvas_stale(canvas: &HtmlCanvasElement) -> bool {
    let dpr = device_ratio();
    let pw = (canvas.client_width() as f64 * dpr).round() as u32;
    let ph = (canvas.client_height() as f64 * dpr).round() as u32;
    pw >= 2 && ph >= 2 && (canvas.width() != pw || canvas.height() != ph)
}

pub(super) fn context_2d(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok())
}

/// Scroll the side panel (never the page) so the element `id` is at its top.
fn scroll_side_to(id: &str) {
    let doc = web_sys::window().and_then(|w| w.document());
    let el = doc.as_ref().and_then(|d| d.get_element_by_id(id));
    let side = doc
        .as_ref()
        .and_then(|d| d.query_selector(".side-body").ok().flatten());
    if let (Some(el), Some(side)) = (el, side) {
        let dy = el.get_bounding_client_rect().top() - side.get_bounding_client_rect().top();
        side.set_scroll_top(side.scroll_top() + dy as i32 - 6);
    }
}
