//! Drawing the topology, live badges and tokens on a 2D canvas.
//!
//!   Layout (layout units) ──View (fit to canvas)──► screen px ──► CanvasRenderingContext2d
//!
//! Everything that does not move between frames of a paused simulation
//! (nodes, badges, queue stacks) is a function of the engine snapshot only, so a
//! paused picture at time T is the same however T was reached. Tokens are
//! batched by colour: one path and one fill per colour per frame.

mod tokens;

use crate::engine::{MessageView, NodeKind, NodeView, Snapshot};
use crate::ui::layout::{bezier, EdgeKind, Layout};
use crate::ui::tokens::{Tokens, DEAD, FATE_COLORS, NEW, RETRIED};
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
    label_bg: "rgba(248,250,252,0.92)",
    bar_bg: "#e2e8f0",
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
    label_bg: "rgba(11,18,32,0.9)",
    bar_bg: "#1e293b",
};

/// Layout → screen transform (CSS pixels).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct View {
    /// Layout units → px for positions.
    pub scale: f64,
    /// Layout units → px for node boxes and their text: kept readable on a
    /// projector even when positions are squeezed.
    pub node_scale: f64,
    pub ox: f64,
    pub oy: f64,
}

impl View {
    pub fn fit(layout: &Layout, w: f64, h: f64) -> View {
        let pad = 30.0;
        let mut scale = 1.0;
        let mut ns = 1.0;
        let mut b;
        // Two passes: the node scale depends on the position scale and changes the bounds.
        for _ in 0..3 {
            let k = ns / scale;
            b = layout.bounds(k);
            let bw = (b.2 - b.0).max(1.0);
            let bh = (b.3 - b.1).max(1.0);
            // Node boxes scale with k relative to positions; solve roughly for scale.
            scale = ((w - 2.0 * pad) / bw)
                .min((h - 2.0 * pad) / bh)
                .clamp(0.2, 1.5);
            ns = (scale * 1.25)
                .clamp(0.85, 1.25)
                .min(crate::ui::layout::COL_W * scale * 0.85 / 170.0)
                .min(crate::ui::layout::ROW_H * scale * 0.95 / 92.0)
                .max(0.2);
        }
        let k = ns / scale;
        b = layout.bounds(k);
        let bw = (b.2 - b.0).max(1.0);
        let bh = (b.3 - b.1).max(1.0);
        let ox = (w - bw * scale) / 2.0 - b.0 * scale;
        let oy = (h - bh * scale) / 2.0 - b.1 * scale;
        View {
            scale,
            node_scale: ns,
            ox,
            oy,
        }
    }
    /// Node box size relative to position scale.
    pub fn k(&self) -> f64 {
        if self.scale > 0.0 {
            self.node_scale / self.scale
        } else {
            1.0
        }
    }
    pub fn pt(&self, p: (f64, f64)) -> (f64, f64) {
        (p.0 * self.scale + self.ox, p.1 * self.scale + self.oy)
    }
    pub fn inv(&self, x: f64, y: f64) -> (f64, f64) {
        ((x - self.ox) / self.scale, (y - self.oy) / self.scale)
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
        "{w}{px:.1}px system-ui, -apple-system, 'Segoe UI', sans-serif"
    ));
}

fn rrect(ctx: &Ctx, x: f64, y: f64, w: f64, h: f64, r: f64) {
    ctx.begin_path();
    let _ = ctx.round_rect_with_f64(x, y, w, h, r);
}

/// Fate class of a message; `held` when a consumer holds it (its current
/// delivery is then already counted).
fn message_fate(m: &MessageView, held: bool) -> u8 {
    let earlier = if held { 1 } else { 0 };
    if m.deaths > 0 {
        DEAD
    } else if m.deliveries > earlier || m.redelivered || m.failures > 0 {
        RETRIED
    } else {
        NEW
    }
}

fn fmt_rate(r: f64) -> String {
    if r >= 100.0 {
        format!("{r:.0}/s")
    } else if r >= 10.0 {
        format!("{r:.1}/s")
    } else {
        format!("{r:.2}/s")
    }
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

/// Draw one frame; returns the clickable message positions.
pub fn draw(f: &Frame) -> Vec<Hit> {
    let ctx = f.ctx;
    let th = f.theme;
    let s = f.view.node_scale;
    let k = f.view.k();
    let mut hits = Vec::new();
    ctx.set_fill_style_str(th.bg);
    ctx.fill_rect(0.0, 0.0, f.w, f.h);

    // Dead-letter band background.
    let band1: Vec<_> = f.layout.nodes.iter().filter(|n| n.band == 1).collect();
    if !band1.is_empty() {
        let top = band1
            .iter()
            .map(|n| n.y - n.h * k / 2.0)
            .fold(f64::MAX, f64::min)
            - 18.0;
        let (_, sy) = f.view.pt((0.0, top));
        ctx.set_fill_style_str(th.band);
        ctx.fill_rect(0.0, sy, f.w, f.h - sy);
        ctx.set_stroke_style_str(th.dead);
        ctx.set_global_alpha(0.35);
        let _ = ctx.set_line_dash(&js_dash(&[6.0, 6.0]));
        ctx.begin_path();
        ctx.move_to(0.0, sy);
        ctx.line_to(f.w, sy);
        ctx.stroke();
        let _ = ctx.set_line_dash(&js_dash(&[]));
        ctx.set_global_alpha(1.0);
        font(ctx, 13.0, true);
        ctx.set_fill_style_str(th.dead);
        ctx.set_text_align("left");
        ctx.set_text_baseline("top");
        let _ = ctx.fill_text("DEAD-LETTER PATH", 10.0, sy + 6.0);
    }

    // Edges (their labels are drawn last, on top of everything).
    let mut labels: Vec<((f64, f64), String, EdgeKind)> = Vec::new();
    for e in &f.layout.edges {
        let r = f.layout.route(e.from, e.to, Some(e.kind), k);
        let p: Vec<(f64, f64)> = r.iter().map(|&q| f.view.pt(q)).collect();
        let (color, dash, width): (&str, &[f64], f64) = match e.kind {
            EdgeKind::Flow => (th.edge, &[], 2.0),
            EdgeKind::DeadLetter => (th.dead, &[7.0, 5.0], 2.0),
            EdgeKind::Retry => (th.retry, &[7.0, 5.0], 2.0),
            EdgeKind::Requeue => (th.retry, &[3.0, 4.0], 2.0),
            EdgeKind::Alternate => (th.muted, &[2.0, 4.0], 1.5),
        };
        ctx.set_stroke_style_str(color);
        ctx.set_line_width(width);
        let _ = ctx.set_line_dash(&js_dash(dash));
        ctx.begin_path();
        ctx.move_to(p[0].0, p[0].1);
        ctx.bezier_curve_to(p[1].0, p[1].1, p[2].0, p[2].1, p[3].0, p[3].1);
        ctx.stroke();
        let _ = ctx.set_line_dash(&js_dash(&[]));
        // Arrow head along the last segment's tangent.
        let (ax, ay) = (p[3].0 - p[2].0, p[3].1 - p[2].1);
        let len = (ax * ax + ay * ay).sqrt().max(1e-6);
        let (ux, uy) = (ax / len, ay / len);
        let a = 9.0;
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
        // Label.
        let mut label = e.label.clone();
        if e.kind == EdgeKind::Retry && f.retry_wait > 0 {
            label = format!("{label} · {} waiting", f.retry_wait);
            let _ = &label;
        }
        if !label.is_empty() {
            labels.push((bezier(&r, 0.55), label, e.kind));
        }
    }

    // Nodes.
    for (i, n) in f.layout.nodes.iter().enumerate() {
        let (cx, cy) = f.view.pt((n.x, n.y));
        let (w, h) = (n.w * s, n.h * s);
        let (x, y) = (cx - w / 2.0, cy - h / 2.0);
        let view = f.snap.nodes.get(i);
        let selected = f.selected_node == Some(i);
        let crashed = matches!(view, Some(NodeView::Consumer { instances, .. }) if !instances.is_empty() && instances.iter().all(|i| !i.up));
        ctx.set_fill_style_str(th.node);
        rrect(ctx, x, y, w, h, 10.0 * s);
        ctx.fill();
        ctx.set_line_width(if selected { 3.5 } else { 1.5 });
        ctx.set_stroke_style_str(if selected {
            th.accent
        } else if crashed {
            "#ef4444"
        } else if n.band == 1 {
            th.dead
        } else {
            th.node_stroke
        });
        ctx.stroke();
        if s < 0.6 {
            // Too small for details: the name only, centred.
            font(ctx, (15.0 * s).clamp(9.0, 12.0), true);
            ctx.set_fill_style_str(th.text);
            ctx.set_text_align("center");
            ctx.set_text_baseline("middle");
            let title = ellipsize(ctx, &n.id, w - 4.0);
            let _ = ctx.fill_text(&title, cx, cy);
            continue;
        }
        let pad = 10.0 * s;
        let fs_title = (15.0 * s).clamp(10.0, 19.0);
        let fs_small = (12.0 * s).clamp(9.0, 15.0);
        ctx.set_text_align("left");
        ctx.set_text_baseline("top");
        font(ctx, fs_small * 0.85, true);
        ctx.set_fill_style_str(th.muted);
        let kind = match n.kind {
            NodeKind::Producer => "PRODUCER",
            NodeKind::Exchange => "EXCHANGE",
            NodeKind::Queue => "QUEUE",
            NodeKind::Consumer => "CONSUMER",
            NodeKind::Topic => "TOPIC",
            NodeKind::Group => "GROUP",
        };
        let _ = ctx.fill_text(kind, x + pad, y + 6.0 * s);
        font(ctx, fs_title, true);
        ctx.set_fill_style_str(th.text);
        let title = ellipsize(ctx, &n.id, w - 2.0 * pad);
        let _ = ctx.fill_text(&title, x + pad, y + 19.0 * s);
        font(ctx, fs_small, false);
        ctx.set_fill_style_str(th.muted);
        let line_y = y + 40.0 * s;
        match view {
            Some(NodeView::Producer {
                rate_per_s, paused, ..
            }) => {
                if *paused {
                    ctx.set_fill_style_str("#ef4444");
                    font(ctx, fs_small, true);
                    let _ = ctx.fill_text("⏸ paused", x + pad, line_y);
                } else {
                    let _ =
                        ctx.fill_text(&format!("rate {}", fmt_rate(*rate_per_s)), x + pad, line_y);
                }
            }
            Some(NodeView::Exchange {
                exchange_kind,
                routed,
                unroutable,
                ..
            }) => {
                let mut t = format!("{exchange_kind} · routed {routed}");
                if *unroutable > 0 {
                    t.push_str(&format!(" · unroutable {unroutable}"));
                }
                let t = ellipsize(ctx, &t, w - 2.0 * pad);
                let _ = ctx.fill_text(&t, x + pad, line_y);
            }
            Some(NodeView::Queue {
                depth,
                depth_max,
                unacked,
                max_length,
                ttl_us,
                head,
                ..
            }) => {
                let mut t = format!("ready {depth} · unacked {unacked}");
                if let Some(ttl) = ttl_us {
                    t.push_str(&format!(" · TTL {}", fmt_us(*ttl)));
                }
                let t = ellipsize(ctx, &t, w - 2.0 * pad);
                let _ = ctx.fill_text(&t, x + pad, line_y);
                // Fill bar with the max-length mark.
                let bx = x + pad;
                let bw = w - 2.0 * pad;
                let by = y + 58.0 * s;
                let bh = 7.0 * s;
                let cap = max_length
                    .map(|m| m as f64)
                    .unwrap_or_else(|| (*depth_max as f64).max(20.0));
                let frac = (*depth as f64 / cap.max(1.0)).clamp(0.0, 1.0);
                ctx.set_fill_style_str(th.bar_bg);
                rrect(ctx, bx, by, bw, bh, bh / 2.0);
                ctx.fill();
                ctx.set_fill_style_str(if max_length.is_some() && frac >= 0.999 {
                    "#ef4444"
                } else if frac > 0.7 {
                    "#f59e0b"
                } else {
                    "#3b82f6"
                });
                if frac > 0.0 {
                    rrect(ctx, bx, by, (bw * frac).max(bh), bh, bh / 2.0);
                    ctx.fill();
                }
                if let Some(m) = max_length {
                    ctx.set_fill_style_str("#ef4444");
                    ctx.fill_rect(bx + bw - 2.0, by - 3.0 * s, 2.5, bh + 6.0 * s);
                    font(ctx, fs_small * 0.8, false);
                    ctx.set_text_align("right");
                    let _ = ctx.fill_text(&format!("max {m}"), bx + bw, y + 6.0 * s);
                    ctx.set_text_align("left");
                }
                // Stack of waiting messages, head on the right (towards consumers).
                let sq = (7.0 * s).max(3.0);
                let gap = (2.5 * s).max(1.0);
                let per_row = ((bw + gap) / (sq + gap)).floor().max(1.0) as usize;
                let shown = (*depth as usize).min(per_row);
                let sy = by + bh + 5.0 * s;
                let more = (*depth as usize).saturating_sub(shown);
                let mut by_fate: [Vec<(f64, f64)>; 3] = [Vec::new(), Vec::new(), Vec::new()];
                for k in 0..shown {
                    let sx = bx + bw - (k as f64 + 1.0) * (sq + gap) + gap;
                    let fate = head.get(k).map(|m| message_fate(m, false)).unwrap_or(NEW);
                    let slot = match fate {
                        RETRIED => 1,
                        DEAD => 2,
                        _ => 0,
                    };
                    by_fate[slot].push((sx, sy));
                    if let Some(m) = head.get(k) {
                        hits.push(Hit {
                            x: sx + sq / 2.0,
                            y: sy + sq / 2.0,
                            r: sq,
                            msg: m.id,
                        });
                        if f.selected_msg == Some(m.id) {
                            ctx.set_stroke_style_str(th.text);
                            ctx.set_line_width(2.0);
                            ctx.stroke_rect(sx - 1.5, sy - 1.5, sq + 3.0, sq + 3.0);
                        }
                    }
                }
                for (slot, pts) in by_fate.iter().enumerate() {
                    if pts.is_empty() {
                        continue;
                    }
                    let color = FATE_COLORS[[NEW, RETRIED, DEAD][slot] as usize];
                    ctx.set_fill_style_str(color);
                    ctx.begin_path();
                    for &(px, py) in pts {
                        ctx.rect(px, py, sq, sq);
                    }
                    ctx.fill();
                }
                if more > 0 {
                    // The overflow count replaces the leftmost squares.
                    font(ctx, fs_small * 0.9, true);
                    let label = format!("+{more}");
                    let tw = ctx.measure_text(&label).map(|t| t.width()).unwrap_or(20.0);
                    ctx.set_fill_style_str(th.node);
                    ctx.fill_rect(bx - 1.0, sy - 2.0, tw + 6.0, sq + 4.0);
                    ctx.set_fill_style_str(th.text);
                    ctx.set_text_baseline("middle");
                    let _ = ctx.fill_text(&label, bx + 1.0, sy + sq / 2.0);
                    ctx.set_text_baseline("top");
                }
            }
            Some(NodeView::Consumer {
                instances,
                processed,
                failed,
                ..
            }) => {
                let up = instances.iter().filter(|i| i.up).count();
                let busy = instances.iter().filter(|i| i.up && i.busy).count();
                let state = if up == 0 && !instances.is_empty() {
                    "crashed".to_string()
                } else if busy == 0 {
                    "idle".to_string()
                } else {
                    format!("{busy}/{} busy", instances.len())
                };
                let held: usize = instances.iter().map(|i| i.held.len()).sum();
                let mut t = if held > busy {
                    format!("{state} · {held} held · done {processed}")
                } else {
                    format!("{state} · done {processed}")
                };
                if *failed > 0 {
                    t.push_str(&format!(" · failed {failed}"));
                }
                if up == 0 && !instances.is_empty() {
                    ctx.set_fill_style_str("#ef4444");
                    font(ctx, fs_small, true);
                }
                let t = ellipsize(ctx, &t, w - 2.0 * pad);
                let _ = ctx.fill_text(&t, x + pad, line_y);
                let r = (6.0 * s).max(3.0);
                let step = 19.0 * s;
                if instances.len() <= 24 {
                    for (k, inst) in instances.iter().enumerate() {
                        let ix = x + pad + r + (k % 8) as f64 * step;
                        let iy = y + 66.0 * s + (k / 8) as f64 * 18.0 * s;
                        ctx.begin_path();
                        let _ = ctx.arc(ix, iy, r, 0.0, std::f64::consts::TAU);
                        if !inst.up {
                            ctx.set_fill_style_str("#ef4444");
                            ctx.fill();
                            ctx.set_stroke_style_str("#ffffff");
                            ctx.set_line_width(1.5);
                            ctx.begin_path();
                            ctx.move_to(ix - r * 0.5, iy - r * 0.5);
                            ctx.line_to(ix + r * 0.5, iy + r * 0.5);
                            ctx.move_to(ix + r * 0.5, iy - r * 0.5);
                            ctx.line_to(ix - r * 0.5, iy + r * 0.5);
                            ctx.stroke();
                        } else if inst.busy {
                            let fate = inst
                                .held
                                .first()
                                .map(|m| message_fate(m, true))
                                .unwrap_or(NEW);
                            ctx.set_fill_style_str(if fate == NEW {
                                "#22c55e"
                            } else {
                                FATE_COLORS[fate as usize]
                            });
                            ctx.fill();
                        } else {
                            ctx.set_stroke_style_str(th.muted);
                            ctx.set_line_width(1.5);
                            ctx.stroke();
                        }
                        if let Some(m) = inst.held.first() {
                            hits.push(Hit {
                                x: ix,
                                y: iy,
                                r: r + 2.0,
                                msg: m.id,
                            });
                            if f.selected_msg == Some(m.id) {
                                ctx.begin_path();
                                let _ = ctx.arc(ix, iy, r + 3.0, 0.0, std::f64::consts::TAU);
                                ctx.set_stroke_style_str(th.text);
                                ctx.set_line_width(2.0);
                                ctx.stroke();
                            }
                        }
                    }
                } else {
                    let crashed = instances.len() - up;
                    let t = format!("{} instances · {crashed} down", instances.len());
                    let _ = ctx.fill_text(&t, x + pad, y + 60.0 * s);
                }
            }
            Some(NodeView::Topic(_)) | Some(NodeView::Group(_)) | None => {}
        }
    }

    tokens::draw_tokens(f);
    for (m, label, kind) in labels {
        let (mx, my) = f.view.pt(m);
        let shown = if label.chars().count() > 28 {
            format!("{}…", label.chars().take(27).collect::<String>())
        } else {
            label
        };
        font(ctx, 12.0, false);
        let tw = ctx.measure_text(&shown).map(|t| t.width()).unwrap_or(40.0);
        ctx.set_fill_style_str(th.label_bg);
        rrect(ctx, mx - tw / 2.0 - 5.0, my - 9.0, tw + 10.0, 18.0, 9.0);
        ctx.fill();
        ctx.set_fill_style_str(match kind {
            EdgeKind::Flow | EdgeKind::Alternate => th.muted,
            EdgeKind::DeadLetter => th.dead,
            _ => th.retry,
        });
        ctx.set_text_align("center");
        ctx.set_text_baseline("middle");
        let _ = ctx.fill_text(&shown, mx, my + 0.5);
    }
    hits
}

fn ellipsize(ctx: &Ctx, text: &str, max_w: f64) -> String {
    let w = ctx.measure_text(text).map(|t| t.width()).unwrap_or(0.0);
    if w <= max_w {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    let mut n = chars.len();
    while n > 1 {
        n -= 1;
        let s: String = chars[..n].iter().collect::<String>() + "…";
        if ctx.measure_text(&s).map(|t| t.width()).unwrap_or(0.0) <= max_w {
            return s;
        }
    }
    "…".into()
}

pub fn js_dash(d: &[f64]) -> JsValue {
    let arr = js_sys::Array::new();
    for &x in d {
        arr.push(&JsValue::from_f64(x));
    }
    arr.into()
}
