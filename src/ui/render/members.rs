//! The consumers inside a broker box, as one row of dots and names: a Pulsar
//! subscription's consumers (`pulsar.rs`) and a Redis consumer group's
//! (below, with its counts).
//!
//!   XGROUP
//!   workers
//!   pending 3 · lag 0 · claimed 1
//!   ⊗ c0 down · 2 pending   ● c1 · 1 pending   ○ c2
//!
//! Marks are the consumer box's, which the legend explains: a filled dot is a
//! consumer handling a message, a hollow dot an idle one, a dashed dot with ✕
//! a crashed one. A row that runs out of room ends with "+N".

use super::{text_fit, Frame};
use crate::engine::view_redis::RedisGroupView;
use crate::ui::layout::text::fit_parts;
use crate::ui::tokens::{FATE_COLORS, NEW};

/// Most consumers drawn as dots (more: a count).
pub(super) const DOTS_MAX: usize = 12;

/// One consumer's dot and label.
pub(super) struct Dot {
    pub up: bool,
    pub busy: bool,
    pub label: String,
    /// The label in bold (Pulsar's active failover consumer).
    pub strong: bool,
}

/// One row of dots from `x + pad`, centred on the row below `row_y` (the
/// top of the row); `total` is how many consumers there are (the "+N").
pub(super) fn dot_row(
    f: &Frame,
    x: f64,
    row_y: f64,
    pad: f64,
    inner: f64,
    dots: &[Dot],
    total: usize,
) {
    let ctx = f.ctx;
    let th = f.theme;
    let s = f.view.scale;
    let st = &f.layout.style;
    let rows = st.rows(false);
    let small = st.small_px * s;
    let r = rows.dot_r * s;
    let cy = row_y + rows.line_h * s / 2.0;
    let mut cx = x + pad;
    let mut drawn = 0;
    ctx.set_text_baseline("middle");
    let limit = x + pad + inner;
    // Room kept after a dot when others follow it, for the "+N" that names
    // them should the next one not fit (a "+1" squeezed into the last
    // pixels reads as dots): measured once per row, for the widest N.
    super::font(ctx, small, false);
    let more_w = ctx
        .measure_text(&format!("+{total}"))
        .map(|m| m.width())
        .unwrap_or(0.0)
        + 12.0 * s;
    for d in dots.iter().take(DOTS_MAX) {
        // Room for this dot, its label and (others following) the "+N";
        // else stop here and say "+N".
        let after = total.saturating_sub(drawn + 1);
        let more_w = if after > 0 { more_w } else { 0.0 };
        super::font(ctx, small, d.strong);
        let label_w = ctx.measure_text(&d.label).map(|m| m.width()).unwrap_or(0.0);
        if drawn > 0 && cx + 2.0 * r + 4.0 * s + label_w + more_w > limit {
            break;
        }
        let ix = cx + r;
        ctx.begin_path();
        let _ = ctx.arc(ix, cy, r, 0.0, std::f64::consts::TAU);
        ctx.set_line_width((1.5 * s).max(1.0));
        if !d.up {
            crashed_mark(f, ix, cy, r);
        } else if d.busy {
            ctx.set_fill_style_str(FATE_COLORS[NEW as usize]);
            ctx.fill();
        } else {
            ctx.set_stroke_style_str(th.muted);
            ctx.stroke();
        }
        drawn += 1;
        ctx.set_fill_style_str(if d.strong || !d.up { th.text } else { th.muted });
        let room = (x + pad + inner - (ix + r + 4.0 * s)).max(0.0);
        let tw = text_fit(ctx, &d.label, ix + r + 4.0 * s, cy, small, d.strong, room);
        cx = ix + r + 4.0 * s + tw + 12.0 * s;
    }
    if total > drawn && cx < limit {
        ctx.set_fill_style_str(th.muted);
        let more = format!("+{}", total - drawn);
        text_fit(ctx, &more, cx, cy, small, false, limit - cx);
    }
    ctx.set_text_baseline("top");
}

/// A crashed instance, on the dot path just begun: the ring dashed and a
/// cross, in the text colour (the consumer box's instances use it too).
pub(super) fn crashed_mark(f: &Frame, ix: f64, iy: f64, r: f64) {
    let (ctx, s) = (f.ctx, f.view.scale);
    ctx.set_stroke_style_str(f.theme.text);
    ctx.set_line_width((1.5 * s).max(1.0));
    let _ = ctx.set_line_dash(&super::js_dash(&[2.0 * s, 2.0 * s]));
    ctx.stroke();
    let _ = ctx.set_line_dash(&super::js_dash(&[]));
    ctx.begin_path();
    ctx.move_to(ix - r * 0.55, iy - r * 0.55);
    ctx.line_to(ix + r * 0.55, iy + r * 0.55);
    ctx.move_to(ix + r * 0.55, iy - r * 0.55);
    ctx.line_to(ix - r * 0.55, iy + r * 0.55);
    ctx.stroke();
}

/// A box's row of counts from `line_y`, in the muted colour: as many of
/// `parts` as fit, the first ones kept (`fit_parts`).
pub(super) fn counts_row(f: &Frame, x: f64, line_y: f64, pad: f64, inner: f64, parts: [&str; 3]) {
    let s = f.view.scale;
    let st = &f.layout.style;
    let t = fit_parts(
        &[(parts[0], 0), (parts[1], 1), (parts[2], 2)],
        inner / s,
        st.small_px,
        false,
    );
    f.ctx.set_fill_style_str(f.theme.muted);
    text_fit(f.ctx, &t, x + pad, line_y, st.small_px * s, false, inner);
}

/// The detail rows of a Redis consumer group box, from `line_y` down: its
/// counts, then its consumers with what each has pending (the PEL is what a
/// crashed consumer leaves behind and XAUTOCLAIM hands on).
pub(super) fn draw_redis_group(
    f: &Frame,
    x: f64,
    line_y: f64,
    pad: f64,
    inner: f64,
    v: &RedisGroupView,
) {
    let rows = f.layout.style.rows(false);
    let pending = format!("pending {}", v.pending);
    let lag = format!("lag {}", v.lag);
    let claimed = if v.claimed > 0 {
        format!("claimed {}", v.claimed)
    } else {
        String::new()
    };
    counts_row(f, x, line_y, pad, inner, [&pending, &lag, &claimed]);
    let dots: Vec<Dot> = v
        .consumers
        .iter()
        .map(|c| {
            let state = if c.up { "" } else { " down" };
            let label = if c.pending > 0 {
                format!("{}{state} · {} pending", c.name, c.pending)
            } else {
                format!("{}{state}", c.name)
            };
            Dot {
                up: c.up,
                busy: c.busy,
                label,
                strong: false,
            }
        })
        .collect();
    dot_row(
        f,
        x,
        line_y + rows.line_h * f.view.scale,
        pad,
        inner,
        &dots,
        v.consumers.len(),
    );
}
