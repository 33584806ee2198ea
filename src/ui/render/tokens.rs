//! Travelling tokens: each message hop is a small square moving along its
//! edge, coloured by fate and batched into one path per colour per frame;
//! and the short effects at nodes (command halo, failure flash, drop ring).
//! Where more tokens start per second than can be drawn, the page's legend
//! strip says how many were not drawn (never text over the picture).

use super::{rrect, Frame};
use crate::ui::layout::{bezier, Route};
use crate::ui::tokens::{COMMAND, DONE, DROPPED, EXPIRED, FAILED_POP, FATE_COLORS};
pub(super) fn draw_tokens(f: &Frame) {
    let ctx = f.ctx;
    let now = f.now_ms;
    // Travelling tokens, one path per colour.
    let size = (7.0 * f.view.scale).clamp(4.0, 14.0);
    let half = size / 2.0;
    let mut routes: std::collections::BTreeMap<(u32, u32), Route> = Default::default();
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
                    f.layout.route(a, b, f.layout.edge_kind(a, b))
                } else {
                    Route::curve([(0.0, 0.0); 4])
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
    // Finished messages: green squares leaving consumers to the right and
    // fading. They are the most numerous effect at high speed (up to
    // EFFECT_CAP), so they are batched into one path per step of fading
    // (every canvas call passes its strings from wasm to JavaScript).
    const DONE_FADE_STEPS: usize = 8;
    let mut done: [Vec<(f64, f64)>; DONE_FADE_STEPS] = Default::default();
    for e in f
        .tokens
        .effects
        .iter()
        .filter(|e| e.fate == DONE && e.t0 <= now)
    {
        let Some(n) = f.layout.nodes.get(e.node as usize) else {
            continue;
        };
        let u = ((now - e.t0) / e.dur).clamp(0.0, 1.0);
        let step = ((u * DONE_FADE_STEPS as f64) as usize).min(DONE_FADE_STEPS - 1);
        let (cx, cy) = f.view.pt((n.x, n.y));
        done[step].push((cx + n.w * f.view.scale / 2.0 + 4.0 + 22.0 * u, cy));
    }
    for (step, squares) in done.iter().enumerate().filter(|(_, q)| !q.is_empty()) {
        ctx.begin_path();
        for &(x, y) in squares {
            ctx.rect(x - 3.5, y - 3.5, 7.0, 7.0);
        }
        ctx.set_global_alpha(1.0 - (step as f64 + 0.5) / DONE_FADE_STEPS as f64);
        ctx.set_fill_style_str(FATE_COLORS[DONE as usize]);
        ctx.fill();
    }
    ctx.set_global_alpha(1.0);
    // Other effects: expanding rings that fade.
    // Newest first; only one drop/expiry ring per node at a time (no bullseyes).
    let mut ringed: Vec<u32> = Vec::new();
    for e in f
        .tokens
        .effects
        .iter()
        .rev()
        .filter(|e| e.t0 <= now && e.fate != DONE)
    {
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
        match e.fate {
            COMMAND => {
                // A command applied here: a sky-blue halo that widens and fades.
                ctx.set_line_width((3.0 * f.view.scale).max(2.0));
                let (w, h) = (n.w * f.view.scale, n.h * f.view.scale);
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
            FAILED_POP => {
                // Failed: a pink flash on the consumer's border.
                ctx.set_line_width((3.0 * f.view.scale).max(2.0));
                let (w, h) = (n.w * f.view.scale, n.h * f.view.scale);
                rrect(ctx, cx - w / 2.0, cy - h / 2.0, w, h, 10.0 * f.view.scale);
                ctx.stroke();
            }
            EXPIRED | DROPPED => {
                ctx.set_line_width(2.5);
                ctx.begin_path();
                let _ = ctx.arc(
                    cx,
                    cy + n.h * f.view.scale / 2.0,
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
}
