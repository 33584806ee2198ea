//! Travelling tokens: each message hop is a small square moving along its
//! edge, coloured by fate and batched into one path per colour per frame;
//! where more tokens start per second than can be drawn, a "+N/s not drawn"
//! note says so instead of hiding it.

use super::{font, rrect, Ctx, Frame};
use crate::ui::layout::bezier;
use crate::ui::tokens::{COMMAND, DONE, DROPPED, EXPIRED, FAILED_POP, FATE_COLORS};
pub(super) fn draw_tokens(f: &Frame) {
    let ctx = f.ctx;
    let now = f.now_ms;
    // Travelling tokens, one path per colour.
    let size = (7.0 * f.view.node_scale).clamp(5.0, 9.0);
    let k = f.view.k();
    let half = size / 2.0;
    let mut routes: std::collections::BTreeMap<(u32, u32), [(f64, f64); 4]> = Default::default();
    for fate in 0..6u8 {
        ctx.begin_path();
        let mut any = false;
        for t in f
            .tokens
            .tokens
            .iter()
            .filter(|t| t.fate == fate && t.t0 <= now)
        {
            let r = routes.entry((t.from, t.to)).or_insert_with(|| {
                let (a, b) = (t.from as usize, t.to as usize);
                if a < f.layout.nodes.len() && b < f.layout.nodes.len() {
                    f.layout.route(a, b, f.layout.edge_kind(a, b), k)
                } else {
                    [(0.0, 0.0); 4]
                }
            });
            let u = ((now - t.t0) / t.dur).clamp(0.0, 1.0);
            let e = u * u * (3.0 - 2.0 * u);
            let (x, y) = f.view.pt(bezier(r, e));
            ctx.rect(x - half, y - half, size, size);
            any = true;
        }
        if any {
            ctx.set_fill_style_str(FATE_COLORS[fate as usize]);
            ctx.fill();
        }
    }
    // The selected message's token gets a ring.
    if let Some(m) = f.selected_msg {
        for t in f.tokens.tokens.iter().filter(|t| t.msg == m && t.t0 <= now) {
            if let Some(r) = routes.get(&(t.from, t.to)) {
                let u = ((now - t.t0) / t.dur).clamp(0.0, 1.0);
                let (x, y) = f.view.pt(bezier(r, u * u * (3.0 - 2.0 * u)));
                ctx.begin_path();
                let _ = ctx.arc(x, y, size, 0.0, std::f64::consts::TAU);
                ctx.set_stroke_style_str(f.theme.text);
                ctx.set_line_width(2.0);
                ctx.stroke();
            }
        }
    }
    // Effects: expanding rings that fade.
    // Newest first; only one drop/expiry ring per node at a time (no bullseyes).
    let mut ringed: Vec<u32> = Vec::new();
    for e in f.tokens.effects.iter().rev().filter(|e| e.t0 <= now) {
        if matches!(e.fate, EXPIRED | DROPPED) {
            if ringed.contains(&e.node) {
                continue;
            }
            ringed.push(e.node);
        }
        let Some(n) = f.layout.nodes.get(e.node as usize) else {
            continue;
        };
        let u = ((now - e.t0) / e.dur).clamp(0.0, 1.0);
        let (cx, cy) = f.view.pt((n.x, n.y));
        ctx.set_global_alpha(1.0 - u);
        ctx.set_stroke_style_str(FATE_COLORS[(e.fate as usize).min(FATE_COLORS.len() - 1)]);
        let _ = FAILED_POP;
        match e.fate {
            COMMAND => {
                ctx.set_line_width(3.0);
                let (w, h) = (n.w * f.view.node_scale, n.h * f.view.node_scale);
                let g = 4.0 + 10.0 * u;
                rrect(
                    ctx,
                    cx - w / 2.0 - g,
                    cy - h / 2.0 - g,
                    w + 2.0 * g,
                    h + 2.0 * g,
                    12.0,
                );
                ctx.stroke();
            }
            DONE => {
                // Finished: a green square leaves the consumer to the right and fades.
                let x = cx + n.w * f.view.node_scale / 2.0 + 4.0 + 22.0 * u;
                ctx.set_fill_style_str(FATE_COLORS[DONE as usize]);
                ctx.fill_rect(x - 3.5, cy - 3.5, 7.0, 7.0);
            }
            FAILED_POP => {
                // Failed: a red flash on the consumer's border.
                ctx.set_line_width(3.0);
                let (w, h) = (n.w * f.view.node_scale, n.h * f.view.node_scale);
                rrect(
                    ctx,
                    cx - w / 2.0,
                    cy - h / 2.0,
                    w,
                    h,
                    10.0 * f.view.node_scale,
                );
                ctx.stroke();
            }
            EXPIRED | DROPPED => {
                ctx.set_line_width(2.5);
                ctx.begin_path();
                let _ = ctx.arc(
                    cx,
                    cy + n.h * f.view.node_scale / 2.0,
                    4.0 + 18.0 * u,
                    0.0,
                    std::f64::consts::TAU,
                );
                ctx.stroke();
            }
            _ => {}
        }
        ctx.set_global_alpha(1.0);
    }
    // Aggregated counts where the cap bound: one label per source node, or a
    // single label for the whole canvas when many nodes are aggregating (one
    // label each would cover the picture).
    let mut per_node: std::collections::BTreeMap<u32, u64> = Default::default();
    for (&(a, _), agg) in &f.tokens.overflow {
        *per_node.entry(a).or_default() += agg.rate();
    }
    let label_at = |ctx: &Ctx, label: &str, x: f64, y: f64| {
        font(ctx, 12.0, true);
        let tw = ctx.measure_text(label).map(|t| t.width()).unwrap_or(30.0);
        ctx.set_fill_style_str(f.theme.text);
        rrect(ctx, x - tw / 2.0 - 6.0, y - 9.0, tw + 12.0, 18.0, 9.0);
        ctx.fill();
        ctx.set_fill_style_str(f.theme.bg);
        ctx.set_text_align("center");
        ctx.set_text_baseline("middle");
        let _ = ctx.fill_text(label, x, y + 0.5);
    };
    if per_node.len() > 3 {
        let total: u64 = per_node.values().sum();
        let label = format!("too busy to draw every message: +{total} moves/s not shown");
        font(ctx, 12.0, true);
        let tw = ctx.measure_text(&label).map(|t| t.width()).unwrap_or(200.0);
        label_at(ctx, &label, 16.0 + tw / 2.0, 18.0);
    } else {
        for (a, count) in per_node {
            let Some(n) = f.layout.nodes.get(a as usize) else {
                continue;
            };
            let (cx, cy) = f.view.pt((n.x, n.y));
            let (w, h) = (n.w * f.view.node_scale, n.h * f.view.node_scale);
            let label = format!("+{count}/s not drawn");
            label_at(ctx, &label, cx + w / 2.0, cy - h / 2.0 - 12.0);
        }
    }
}
