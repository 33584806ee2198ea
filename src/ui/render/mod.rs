//! Drawing the topology, live badges and tokens on a 2D canvas.
//!
//!   Layout (layout units) ──View (one scale + offset)──► screen px ──► CanvasRenderingContext2d
//!
//! One scale maps everything — positions, boxes, type and strokes — so the
//! layout's guarantee (no box overlaps another) holds on screen at any zoom.
//! Everything that does not move between frames of a paused simulation
//! (nodes, badges, queue stacks) is a function of the engine snapshot only, so a
//! paused picture at time T is the same however T was reached. Tokens are
//! batched by colour: one path and one fill per colour per frame.
//!
//!   mod.rs     theme, view transform, frame: band, edges, labels
//!   nodes.rs   node boxes and their live content
//!   members.rs consumer dots inside Pulsar subscription and Redis group boxes
//!   pulsar.rs  a Pulsar subscription's counts and Key_Shared slot bar
//!   streams.rs topics as partition strips, groups as member rows, ownership lines
//!   tokens.rs  travelling tokens, effects, "not drawn" badges

mod members;
mod nodes;
mod pulsar;
pub mod streams;
mod tokens;

use crate::engine::{NodeKind, NodeView, Snapshot};
use crate::ui::layout::{EdgeKind, Layout, Rect, BAND_CAPTION};
use crate::ui::tokens::Tokens;
use wasm_bindgen::JsValue;
use web_sys::CanvasRenderingContext2d as Ctx;

pub struct Theme {
    pub bg: &'static str,
    pub grid: &'static str,
    pub node: &'static str,
    pub node_stroke: &'static str,
    pub text: &'static str,
    pub muted: &'static str,
    pub edge: &'static str,
    pub dead: &'static str,
    pub retry: &'static str,
    pub accent: &'static str,
    pub band: &'static str,
    pub label_bg: &'static str,
    pub bar_bg: &'static str,
    /// Queue fill level (a colour no message fate uses).
    pub fill: &'static str,
}

pub const LIGHT: Theme = Theme {
    bg: "#f8fafc",
    grid: "#e2e8f0",
    node: "#ffffff",
    node_stroke: "#94a3b8",
    text: "#0f172a",
    muted: "#475569",
    edge: "#94a3b8",
    dead: "#9333ea",
    retry: "#d97706",
    accent: "#2563eb",
    band: "rgba(147,51,234,0.06)",
    label_bg: "rgba(248,250,252,0.96)",
    bar_bg: "#e2e8f0",
    fill: "#0d9488",
};

pub const DARK: Theme = Theme {
    bg: "#0b1220",
    grid: "#1e293b",
    node: "#131d33",
    node_stroke: "#475569",
    text: "#e2e8f0",
    muted: "#94a3b8",
    edge: "#64748b",
    dead: "#c084fc",
    retry: "#fbbf24",
    accent: "#60a5fa",
    band: "rgba(192,132,252,0.07)",
    label_bg: "rgba(11,18,32,0.94)",
    bar_bg: "#1e293b",
    fill: "#2dd4bf",
};

/// Layout → screen transform (CSS pixels): one scale for everything.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct View {
    /// Layout units → px.
    pub scale: f64,
    pub ox: f64,
    pub oy: f64,
}

/// Margin kept free around the picture when fitting [px].
pub const FIT_PAD: f64 = 12.0;

impl View {
    /// The whole picture (nodes, loops, labels) centred in a `w`×`h` canvas,
    /// no larger than `max_scale`.
    pub fn fit(layout: &Layout, w: f64, h: f64, max_scale: f64) -> View {
        let b = layout.bounds();
        let bw = b.w().max(1.0);
        let bh = b.h().max(1.0);
        let scale = ((w - 2.0 * FIT_PAD) / bw)
            .min((h - 2.0 * FIT_PAD) / bh)
            .clamp(0.05, max_scale);
        View {
            scale,
            ox: (w - bw * scale) / 2.0 - b.x0 * scale,
            oy: (h - bh * scale) / 2.0 - b.y0 * scale,
        }
    }
    /// This view zoomed by `zoom` and shifted by `(dx, dy)` px (the user's pan and zoom).
    pub fn then(self, zoom: f64, dx: f64, dy: f64) -> View {
        View {
            scale: self.scale * zoom,
            ox: self.ox * zoom + dx,
            oy: self.oy * zoom + dy,
        }
    }
    pub fn pt(&self, p: (f64, f64)) -> (f64, f64) {
        (p.0 * self.scale + self.ox, p.1 * self.scale + self.oy)
    }
    pub fn inv(&self, x: f64, y: f64) -> (f64, f64) {
        ((x - self.ox) / self.scale, (y - self.oy) / self.scale)
    }
    pub fn rect(&self, r: &Rect) -> Rect {
        r.map(|p| self.pt(p))
    }
}

/// A clickable message drawn in a queue stack or held by a consumer.
#[derive(Clone, Copy, Debug)]
pub struct Hit {
    pub x: f64,
    pub y: f64,
    pub r: f64,
    pub msg: u64,
}

pub struct Frame<'a> {
    pub ctx: &'a Ctx,
    pub w: f64,
    pub h: f64,
    pub view: View,
    pub layout: &'a Layout,
    pub snap: &'a Snapshot,
    pub tokens: &'a Tokens,
    pub theme: &'a Theme,
    pub selected_node: Option<usize>,
    pub selected_msg: Option<u64>,
    pub now_ms: f64,
    /// Messages waiting for a delayed retry (ledger).
    pub retry_wait: u64,
}

fn font(ctx: &Ctx, px: f64, bold: bool) {
    let w = if bold { "600 " } else { "" };
    ctx.set_font(&format!(
        "{w}{px:.2}px system-ui, -apple-system, 'Segoe UI', sans-serif"
    ));
}

thread_local! {
    /// Texts drawn smaller than asked in the current frame (see `text_fit`).
    static SQUEEZED: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Draw `text` at (x, y) in at most `max_w` px: the font shrinks if the
/// text would not fit (never cut), and the frame counts it — the layout
/// sizes boxes so that this does not happen. Returns the width drawn.
fn text_fit(ctx: &Ctx, text: &str, x: f64, y: f64, px: f64, bold: bool, max_w: f64) -> f64 {
    font(ctx, px, bold);
    let w = ctx.measure_text(text).map(|t| t.width()).unwrap_or(0.0);
    let w = if w > max_w && w > 0.0 {
        if w > max_w * 1.02 + 0.5 {
            SQUEEZED.with(|c| c.set(c.get() + 1));
        }
        font(ctx, px * max_w / w, bold);
        max_w
    } else {
        w
    };
    let _ = ctx.fill_text(text, x, y);
    w
}

fn rrect(ctx: &Ctx, x: f64, y: f64, w: f64, h: f64, r: f64) {
    ctx.begin_path();
    let _ = ctx.round_rect_with_f64(x, y, w, h, r.max(0.0));
}

pub fn fmt_us(us: u64) -> String {
    if us >= 1_000_000 {
        format!("{:.1} s", us as f64 / 1e6)
    } else if us >= 1000 {
        format!("{:.0} ms", us as f64 / 1e3)
    } else {
        format!("{us} µs")
    }
}

/// What a frame drew that the app needs back.
pub struct Drawn {
    /// Clickable message positions.
    pub hits: Vec<Hit>,
    /// Texts that had to be drawn smaller than their style asks.
    pub squeezed: u32,
    /// What the streams view drew (strips, cursors, lag, lines, badges).
    pub streams: streams::StreamStats,
}

/// Draw one frame.
pub fn draw(f: &Frame) -> Drawn {
    SQUEEZED.with(|c| c.set(0));
    streams::reset_stats();
    let ctx = f.ctx;
    let th = f.theme;
    let s = f.view.scale;
    let st = &f.layout.style;
    ctx.set_fill_style_str(th.bg);
    ctx.fill_rect(0.0, 0.0, f.w, f.h);

    // Dead-letter band background and caption.
    if let Some(top) = f.layout.band_top {
        let (_, sy) = f.view.pt((0.0, top));
        ctx.set_fill_style_str(th.band);
        ctx.fill_rect(0.0, sy, f.w, (f.h - sy).max(0.0));
        ctx.set_stroke_style_str(th.dead);
        ctx.set_global_alpha(0.35);
        ctx.set_line_width((1.5 * s).max(1.0));
        let _ = ctx.set_line_dash(&js_dash(&[6.0 * s, 6.0 * s]));
        ctx.begin_path();
        ctx.move_to(0.0, sy);
        ctx.line_to(f.w, sy);
        ctx.stroke();
        let _ = ctx.set_line_dash(&js_dash(&[]));
        ctx.set_global_alpha(1.0);
        if let Some(r) = f.layout.band_label {
            let r = f.view.rect(&r);
            ctx.set_fill_style_str(th.dead);
            ctx.set_text_align("left");
            ctx.set_text_baseline("middle");
            text_fit(
                ctx,
                BAND_CAPTION,
                r.x0 + 4.0 * s,
                r.cy(),
                st.small_px * s,
                true,
                r.w() - 8.0 * s,
            );
        }
    }

    // Edges.
    let width = (2.0 * s).clamp(1.0, 5.0);
    for e in &f.layout.edges {
        // A group's read edge: the ownership lines stand for it (those of
        // its own topics; a retry topic it also reads keeps its edge).
        if f.layout.nodes[e.to].kind == NodeKind::Group
            && f.layout.nodes[e.from].kind == NodeKind::Topic
            && !f.layout.nodes[e.to].compact
            && matches!(
                f.snap.nodes.get(e.to),
                Some(NodeView::Group(gv)) if gv.topics.contains(&f.layout.nodes[e.from].id)
            )
        {
            continue;
        }
        let r = f.layout.route(e.from, e.to, Some(e.kind));
        let (color, dash, w): (&str, &[f64], f64) = match e.kind {
            EdgeKind::Flow => (th.edge, &[], width),
            EdgeKind::DeadLetter => (th.dead, &[7.0, 5.0], width),
            EdgeKind::Retry => (th.retry, &[7.0, 5.0], width),
            EdgeKind::Requeue => (th.retry, &[3.0, 4.0], width),
            EdgeKind::Alternate => (th.muted, &[2.0, 4.0], width * 0.75),
        };
        ctx.set_stroke_style_str(color);
        ctx.set_line_width(w);
        let dash: Vec<f64> = dash.iter().map(|d| d * s.max(0.5)).collect();
        let _ = ctx.set_line_dash(&js_dash(&dash));
        ctx.begin_path();
        for (k, piece) in r.pieces().iter().enumerate() {
            let p: [(f64, f64); 4] = piece.map(|q| f.view.pt(q));
            if k == 0 {
                ctx.move_to(p[0].0, p[0].1);
            }
            ctx.bezier_curve_to(p[1].0, p[1].1, p[2].0, p[2].1, p[3].0, p[3].1);
        }
        ctx.stroke();
        let _ = ctx.set_line_dash(&js_dash(&[]));
        // Arrow head along the last piece's tangent.
        let p: [(f64, f64); 4] = r.last().map(|q| f.view.pt(q));
        let (ax, ay) = (p[3].0 - p[2].0, p[3].1 - p[2].1);
        let len = (ax * ax + ay * ay).sqrt().max(1e-6);
        let (ux, uy) = (ax / len, ay / len);
        let a = (9.0 * s).clamp(5.0, 18.0);
        ctx.set_fill_style_str(color);
        ctx.begin_path();
        ctx.move_to(p[3].0, p[3].1);
        ctx.line_to(
            p[3].0 - ux * a - uy * a * 0.5,
            p[3].1 - uy * a + ux * a * 0.5,
        );
        ctx.line_to(
            p[3].0 - ux * a + uy * a * 0.5,
            p[3].1 - uy * a - ux * a * 0.5,
        );
        ctx.close_path();
        ctx.fill();
    }

    // Tokens fly over the boxes, except in a folded fan-out, whose edges to
    // the later columns pass behind the first column's boxes.
    if f.layout.folded {
        tokens::draw_tokens(f);
    }
    let hits = nodes::draw_nodes(f);
    streams::draw_links(f);
    if !f.layout.folded {
        tokens::draw_tokens(f);
    }
    draw_labels(f);
    Drawn {
        hits,
        squeezed: SQUEEZED.with(|c| c.get()),
        streams: streams::take_stats(),
    }
}

/// Edge labels in their placed boxes, on top of tokens.
fn draw_labels(f: &Frame) {
    let ctx = f.ctx;
    let th = f.theme;
    let s = f.view.scale;
    let st = &f.layout.style;
    for l in &f.layout.labels {
        let Some(e) = f.layout.edges.get(l.edge) else {
            continue;
        };
        let r = f.view.rect(&l.rect);
        ctx.set_fill_style_str(th.label_bg);
        rrect(ctx, r.x0, r.y0, r.w(), r.h(), 6.0 * s);
        ctx.fill();
        let color = match e.kind {
            EdgeKind::Flow | EdgeKind::Alternate => th.text,
            EdgeKind::DeadLetter => th.dead,
            _ => th.retry,
        };
        ctx.set_stroke_style_str(color);
        ctx.set_global_alpha(0.35);
        ctx.set_line_width((1.0 * s).max(0.75));
        ctx.stroke();
        ctx.set_global_alpha(1.0);
        ctx.set_fill_style_str(color);
        ctx.set_text_align("center");
        ctx.set_text_baseline("middle");
        let lh = st.label_line_h() * s;
        let y0 = r.cy() - lh * (e.label.len() as f64 - 1.0) / 2.0;
        for (k, line) in e.label.iter().enumerate() {
            let text = if e.kind == EdgeKind::Retry && k == 1 {
                if f.retry_wait == 0 {
                    continue;
                }
                format!("{} waiting", f.retry_wait)
            } else {
                line.clone()
            };
            text_fit(
                ctx,
                &text,
                r.cx(),
                y0 + k as f64 * lh + 0.5,
                st.label_px * s,
                false,
                r.w() - 8.0 * s,
            );
        }
    }
}

pub fn js_dash(d: &[f64]) -> JsValue {
    let arr = js_sys::Array::new();
    for &x in d {
        arr.push(&JsValue::from_f64(x));
    }
    arr.into()
}
