//! A Pulsar subscription box: its counts, its consumers and, on a
//! Key_Shared subscription, who owns which hash slots.
//!
//!   SUBSCRIPTION · KEY_SHARED
//!   shipping
//!   backlog 12 · unacked 3 · redelivered 4
//!   ● c0   ○ c1   ⊗ c2            (busy · idle · crashed; "active" on failover,
//!                                   "blocked" at the cap of unacknowledged messages)
//!   slots [ c2 | c1 | c0        ]  (0 … 65535, as the auto-split selector cut them)
//!
//! The consumer dots are `members.rs`'s (the consumer box's marks). The slot bar has no colour code: each segment is labelled with its owner.

use super::members::{counts_row, dot_row, Dot};
use super::{font, text_fit, Frame};
use crate::engine::view_pulsar::PulsarSubscriptionView;

/// The detail rows of a subscription box, from `line_y` down.
#[allow(clippy::too_many_arguments)]
pub(super) fn draw_subscription(
    f: &Frame,
    x: f64,
    line_y: f64,
    pad: f64,
    inner: f64,
    v: &PulsarSubscriptionView,
) {
    let ctx = f.ctx;
    let th = f.theme;
    let s = f.view.scale;
    let st = &f.layout.style;
    let rows = st.rows(false);
    let small = st.small_px * s;
    let backlog = format!("backlog {}", v.backlog);
    // At its cap of unacknowledged messages on some partition, that
    // partition's dispatcher sends nothing (the caps hold per partition).
    let unacked = if v.blocked {
        format!("unacked {} blocked", v.unacked)
    } else {
        format!("unacked {}", v.unacked)
    };
    let extra = if v.dead_lettered > 0 {
        format!("DLQ {}", v.dead_lettered)
    } else if v.redelivered > 0 {
        format!("redelivered {}", v.redelivered)
    } else {
        String::new()
    };
    counts_row(f, x, line_y, pad, inner, [&backlog, &unacked, &extra]);

    // Consumers: a dot and a name each (`members.rs`).
    let y2 = line_y + rows.line_h * s;
    let failover = v.sub_type == "failover" && v.consumers.len() > 1;
    let dots: Vec<Dot> = v
        .consumers
        .iter()
        .map(|c| {
            let active = failover && !c.active_for.is_empty();
            let label = if active {
                format!("{} active", c.name)
            } else if !c.up {
                format!("{} down", c.name)
            } else if c.blocked {
                format!("{} blocked", c.name)
            } else {
                c.name.clone()
            };
            Dot {
                up: c.up,
                busy: c.busy,
                label,
                strong: active,
            }
        })
        .collect();
    dot_row(f, x, y2, pad, inner, &dots, v.consumers.len());

    // Key_Shared: the 65,536 slots as a bar, one labelled segment per range.
    if v.sub_type == "key_shared" {
        let y3 = y2 + rows.line_h * s;
        let bh = (rows.line_h * s * 0.8).max(4.0);
        let by = y3 + (rows.line_h * s - bh) / 2.0;
        font(ctx, small, false);
        let lw = ctx
            .measure_text("slots ")
            .map(|m| m.width())
            .unwrap_or(30.0);
        ctx.set_fill_style_str(th.muted);
        text_fit(
            ctx,
            "slots",
            x + pad,
            y3 + rows.line_h * s / 2.0,
            small,
            false,
            lw,
        );
        let bx = x + pad + lw;
        let bw = (inner - lw).max(1.0);
        ctx.set_fill_style_str(th.bar_bg);
        ctx.fill_rect(bx, by, bw, bh);
        let mut owned: Vec<(u32, u32, &str)> = Vec::new();
        for c in &v.consumers {
            for r in &c.ranges {
                owned.push((r[0], r[1], c.name.as_str()));
            }
        }
        crate::small_sort::sort(&mut owned);
        for (k, (lo, hi, name)) in owned.iter().enumerate() {
            let x0 = bx + bw * *lo as f64 / 65536.0;
            let x1 = bx + bw * (*hi as f64 + 1.0) / 65536.0;
            ctx.set_fill_style_str(if k % 2 == 0 { th.grid } else { th.node_stroke });
            ctx.fill_rect(x0, by, (x1 - x0).max(1.0), bh);
            ctx.set_stroke_style_str(th.node);
            ctx.set_line_width(1.0);
            ctx.stroke_rect(x0, by, (x1 - x0).max(1.0), bh);
            ctx.set_fill_style_str(th.text);
            ctx.set_text_align("center");
            font(ctx, small * 0.9, true);
            let tw = ctx.measure_text(name).map(|m| m.width()).unwrap_or(0.0);
            if tw + 4.0 * s < x1 - x0 {
                let _ = ctx.fill_text(name, (x0 + x1) / 2.0, by + bh / 2.0);
            }
            ctx.set_text_align("left");
        }
    }
    ctx.set_text_baseline("top");
}
