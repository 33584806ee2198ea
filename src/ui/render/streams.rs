//! The log-based half of the picture: a topic as stacked partition strips,
//! a consumer group as member rows, and the ownership lines between them.
//!
//!   strip:  P3 │▮▮▮▮▮▮▮▮▮▮▮▮▮▮▮▮▮▮▮▮│  120–531      cells = newest offsets, coloured by key
//!              │      ▼cursor ▓▓▓▓▓▓│               one lane per group: lag shaded from the
//!              │  ▼cursor       ▓▓▓▓│               committed offset to the log end
//!   line:   strip ─────────────────► ● member that owns the partition (group colour)
//!
//! Marks (each has one meaning):
//!   cell colour ── the record's key (same key, same colour, always the same strip); grey: null key
//!   dashed tick on a strip ── the log start offset (retention or compaction moved it)
//!   group-coloured tick ── that group's committed offset; ◀ at the left: further back than drawn
//!   shaded lane ── that group's lag (records between its committed offset and the log end)
//!   solid line ── owner; dashed line ── owner crashed, not noticed yet (partition not read)
//!   "REBALANCING" badge ── the group is rebalancing (revoked partitions have no line)
//!   grey dashed dot + "idle: no partition" ── a member with nothing assigned
//!
//! Everything drawn is a function of the snapshot, bounded by `STRIP_CELLS`,
//! `STRIPS_MAX` and `MEMBER_ROWS_MAX`. What was drawn is counted in
//! `StreamStats` so browser tests can check it.

use super::{font, rrect, text_fit, Frame, Hit};
use crate::engine::view_stream::{GroupView, TopicView};
use crate::engine::{NodeKind, NodeView};
use crate::ui::layout::streams::{MemberGeom, StripGeom, LANE_GAP};
use crate::ui::layout::text::fit_parts;
use crate::ui::layout::NodeBox;
use std::cell::RefCell;

/// One colour per consumer group (cursor, lag lane, lines, box stripe).
pub const GROUP_COLORS: [&str; 6] = [
    "#2563eb", "#ea580c", "#0d9488", "#c026d3", "#65a30d", "#e11d48",
];
/// Record cells by key: light hues, so the group colours stay apart.
pub const KEY_COLORS: [&str; 12] = [
    "#93c5fd", "#fca5a5", "#86efac", "#fcd34d", "#c4b5fd", "#f9a8d4", "#5eead4", "#fdba74",
    "#a5b4fc", "#bef264", "#67e8f9", "#e9d5ff",
];
/// A record without a key.
pub const NULL_KEY_COLOR: &str = "#cbd5e1";

/// The colour slot of a key: FNV-1a over its bytes, so a key keeps its
/// colour across frames, runs and presets.
pub fn key_slot(key: &str) -> usize {
    let mut h: u32 = 0x811c_9dc5;
    for b in key.bytes() {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    (h % KEY_COLORS.len() as u32) as usize
}

/// What the streams view drew in one frame (exposed to browser tests).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct StreamStats {
    pub strips: u32,
    /// Record cells drawn.
    pub cells: u32,
    /// Committed-offset cursors drawn (one per group per strip).
    pub cursors: u32,
    /// Offsets shaded as lag, over all lanes.
    pub lag_cells: u64,
    /// Ownership lines drawn.
    pub lines: u32,
    /// Groups showing the "rebalancing" badge.
    pub rebalancing: Vec<String>,
    /// Event-store badges drawn, as "group: text" ("N CONFLICTS", "N STALE WRITES").
    pub store_badges: Vec<String>,
    /// Topics showing acknowledged records lost, as "topic: text".
    pub lost_labels: Vec<String>,
    /// Members shown as "idle: no partition".
    pub idle: u32,
}

thread_local! {
    static STATS: RefCell<StreamStats> = RefCell::new(StreamStats::default());
}

pub(super) fn reset_stats() {
    STATS.with(|s| *s.borrow_mut() = StreamStats::default());
}

pub(super) fn take_stats() -> StreamStats {
    STATS.with(|s| std::mem::take(&mut *s.borrow_mut()))
}

fn stat(f: impl FnOnce(&mut StreamStats)) {
    STATS.with(|s| f(&mut s.borrow_mut()));
}

/// The topic's loss label: the words the compare lanes use, or "lost N"
/// where they would have to be squeezed into `max_w` [px, on screen] at
/// `px` (a squeezed text is a layout problem the browser tests look for).
pub(super) fn acked_lost_label(
    ctx: &web_sys::CanvasRenderingContext2d,
    n: u64,
    px: f64,
    bold: bool,
    max_w: f64,
) -> String {
    let long = format!("acknowledged, then lost {n}");
    super::font(ctx, px, bold);
    let w = ctx.measure_text(&long).map(|t| t.width()).unwrap_or(0.0);
    if w <= max_w {
        long
    } else {
        format!("lost {n}")
    }
}

/// Colour of group `gi` (index among the scenario's groups).
pub fn group_color(gi: usize) -> &'static str {
    GROUP_COLORS[gi % GROUP_COLORS.len()]
}

/// The scenario index of every group node, by node index.
fn group_index(f: &Frame, node: usize) -> usize {
    f.layout.nodes[..node]
        .iter()
        .filter(|n| n.kind == NodeKind::Group)
        .count()
}

/// Groups (with their scenario index) reading topic `id`, in scenario order.
fn readers<'a>(f: &'a Frame, id: &str) -> Vec<(usize, &'a GroupView)> {
    f.snap
        .nodes
        .iter()
        .filter_map(|n| match n {
            NodeView::Group(g) => Some(g),
            _ => None,
        })
        .enumerate()
        .filter(|(_, g)| g.topics.iter().any(|t| t == id))
        .collect()
}

fn strip_geom(f: &Frame, t: &TopicView) -> StripGeom {
    let replicated = t.partitions.first().is_some_and(|p| p.isr.is_some());
    StripGeom::new(
        &f.layout.style,
        t.partitions.len(),
        readers(f, &t.id).len(),
        replicated,
    )
}

/// The body of a topic box: detail line and partition strips.
/// `(x, y)` is the box's top-left on screen, `w` its width [px].
/// Returns the record cells as click targets.
pub(super) fn draw_topic(f: &Frame, x: f64, y: f64, w: f64, t: &TopicView) -> Vec<Hit> {
    let mut hits = Vec::new();
    let ctx = f.ctx;
    let th = f.theme;
    let s = f.view.scale;
    let st = &f.layout.style;
    let rows = st.rows(false);
    let pad = st.pad * s;
    let inner = w - 2.0 * pad;
    let small = st.small_px * s;
    let g = strip_geom(f, t);
    let groups = readers(f, &t.id);

    // Acknowledged records a leader change lost: the one fact an acks
    // scenario is about, on the title row, right-aligned, in the loss colour.
    if t.acked_lost > 0 {
        let title_w = crate::ui::layout::text::text_w(&t.id, st.title_px, true) * s;
        let max_w = (inner - title_w - 8.0 * s).max(1.0);
        let label = acked_lost_label(ctx, t.acked_lost, small, true, max_w);
        ctx.set_text_align("right");
        ctx.set_text_baseline("top");
        ctx.set_fill_style_str(super::nodes::ALERT_RED);
        text_fit(
            ctx,
            &label,
            x + w - pad,
            y + (rows.title_y + (st.title_px - st.small_px) * 0.8) * s,
            small,
            true,
            max_w,
        );
        stat(|st| st.lost_labels.push(format!("{}: {label}", t.id)));
    }
    ctx.set_text_align("left");
    ctx.set_text_baseline("top");
    ctx.set_fill_style_str(th.muted);
    let n = t.partitions.len();
    let parts = format!("{n} partition{}", if n == 1 { "" } else { "s" });
    let app = format!("appended {}", t.appended);
    let legend = "cell colour = key";
    let line = fit_parts(
        &[(&parts, 0), (&app, 2), (legend, 1)],
        inner / s,
        st.small_px,
        false,
    );
    // Presenter mode has no detail line (see `StripGeom::new`).
    if !st.brief {
        text_fit(
            ctx,
            &line,
            x + pad,
            y + rows.detail_y * s,
            small,
            false,
            inner,
        );
    }

    let cw = g.cell_w * s;
    let ch = g.cell_h * s;
    let lane_h = g.lane_h * s;
    let x0 = x + g.cells_x(st) * s;
    let cells_w = g.cells_w() * s;
    let mut by_color: Vec<Vec<(f64, f64)>> = vec![Vec::new(); KEY_COLORS.len() + 1];
    let mut selected: Option<(f64, f64)> = None;
    for (k, p) in t.partitions.iter().take(g.strips).enumerate() {
        let py = y + g.strip_y(k) * s;
        let w0 = p.log_end.saturating_sub(g.cells as u64);
        let xo = |o: u64| x0 + (o.saturating_sub(w0)) as f64 * cw;
        // Partition label.
        ctx.set_fill_style_str(th.text);
        ctx.set_text_baseline("middle");
        text_fit(
            ctx,
            &format!("P{}", p.partition),
            x + pad,
            py + ch / 2.0,
            small,
            true,
            g.label_w * s - 4.0 * s,
        );
        // The window's background, then the records as cells.
        ctx.set_fill_style_str(th.bar_bg);
        ctx.fill_rect(x0, py, cells_w, ch);
        for r in p.recent.iter().filter(|r| r.offset >= w0) {
            let slot = r.key.as_deref().map_or(KEY_COLORS.len(), key_slot);
            by_color[slot].push((xo(r.offset), py));
            hits.push(Hit {
                x: xo(r.offset) + cw / 2.0,
                y: py + ch / 2.0,
                r: (cw / 2.0).max(2.0),
                msg: r.msg,
            });
            if f.selected_msg == Some(r.msg) {
                selected = Some((xo(r.offset), py));
            }
        }
        // Log start inside the window: everything left of it is gone.
        if p.log_start > w0 && p.log_start < p.log_end {
            ctx.set_fill_style_str(th.node);
            ctx.fill_rect(x0, py, xo(p.log_start) - x0, ch);
            ctx.set_stroke_style_str(th.muted);
            ctx.set_line_width((1.5 * s).max(1.0));
            let _ = ctx.set_line_dash(&super::js_dash(&[2.0 * s, 2.0 * s]));
            ctx.begin_path();
            ctx.move_to(xo(p.log_start), py - 2.0 * s);
            ctx.line_to(xo(p.log_start), py + ch + 2.0 * s);
            ctx.stroke();
            let _ = ctx.set_line_dash(&super::js_dash(&[]));
        }
        // Offsets: log start – log end, and the ISR of a replicated topic
        // (in the dead-letter colour while a replica is out of it).
        let short = p.isr.is_some_and(|(isr, n)| isr < n);
        ctx.set_fill_style_str(if short { th.dead } else { th.muted });
        let isr = p
            .isr
            .map_or(String::new(), |(isr, n)| format!(" · ISR {isr}/{n}"));
        text_fit(
            ctx,
            &format!("{}–{}{isr}", p.log_start, p.log_end),
            x0 + cells_w + 6.0 * s,
            py + ch / 2.0,
            g.num_px * s,
            false,
            g.end_w * s - 6.0 * s,
        );
        ctx.set_text_baseline("top");
        stat(|st| st.strips += 1);
        // One lane per group: lag shaded from the committed offset to the end.
        for (lane, (gi, gv)) in groups.iter().take(g.lanes).enumerate() {
            let Some(gp) = gv
                .partitions
                .iter()
                .find(|q| q.topic == t.id && q.partition == p.partition)
            else {
                continue;
            };
            let color = group_color(*gi);
            let from = p.log_end.saturating_sub(gp.lag);
            let ly = py + ch + LANE_GAP * s + lane as f64 * (lane_h + LANE_GAP * s);
            ctx.set_fill_style_str(color);
            if gp.lag > 0 {
                let a = xo(from.max(w0));
                ctx.set_global_alpha(0.55);
                ctx.fill_rect(a, ly, x0 + cells_w - a, lane_h);
                ctx.set_global_alpha(1.0);
                let shown = p.log_end - from.max(w0);
                stat(|st| st.lag_cells += shown);
            }
            // The cursor: a tick over the cells down to this group's lane.
            let cx = xo(from.max(w0));
            let tw = (2.0 * s).max(1.5);
            ctx.fill_rect(cx - tw / 2.0, py - 1.5 * s, tw, ly + lane_h - py + 1.5 * s);
            if from < w0 {
                // Further back than the window: a ◀ at the left end of the lane.
                let a = (lane_h * 1.6).max(4.0);
                ctx.begin_path();
                ctx.move_to(x0 - a - 1.0 * s, ly + lane_h / 2.0);
                ctx.line_to(x0 - 1.0 * s, ly + lane_h / 2.0 - a / 2.0);
                ctx.line_to(x0 - 1.0 * s, ly + lane_h / 2.0 + a / 2.0);
                ctx.close_path();
                ctx.fill();
            }
            stat(|st| st.cursors += 1);
        }
    }
    let n: u32 = by_color.iter().map(|v| v.len() as u32).sum();
    stat(|st| st.cells += n);
    let gap = (0.12 * cw).max(0.5);
    for (slot, pts) in by_color.iter().enumerate() {
        if pts.is_empty() {
            continue;
        }
        ctx.set_fill_style_str(KEY_COLORS.get(slot).copied().unwrap_or(NULL_KEY_COLOR));
        ctx.begin_path();
        for &(px, py) in pts {
            ctx.rect(px + gap / 2.0, py, cw - gap, ch);
        }
        ctx.fill();
    }
    if let Some((sx, sy)) = selected {
        ctx.set_stroke_style_str(th.text);
        ctx.set_line_width(2.0);
        ctx.stroke_rect(sx - 1.5, sy - 1.5, cw + 3.0, ch + 3.0);
    }
    if g.more {
        let py = y + g.strip_y(g.strips) * s;
        ctx.set_fill_style_str(th.muted);
        text_fit(
            ctx,
            &format!("+{} more partitions", t.partitions.len() - g.strips),
            x0,
            py,
            small,
            false,
            cells_w,
        );
    }
    hits
}

/// What a member row says, and whether the member is idle.
fn member_text(gv: &GroupView, k: usize) -> (String, bool) {
    let m = &gv.members[k];
    if !m.up {
        return (format!("#{k} crashed"), false);
    }
    if m.poll_timed_out {
        return (format!("#{k} left: poll timeout"), false);
    }
    if !m.in_group {
        return (format!("#{k} left"), false);
    }
    if m.partitions.is_empty() {
        if gv.rebalancing {
            return (format!("#{k} waiting: rebalance"), false);
        }
        return (format!("#{k} idle: no partition"), true);
    }
    // A group reading several topics (retry topics, say): the first topic's
    // partitions by number, the others counted with their topics.
    let first = gv.topics.first();
    let (main, other): (Vec<_>, Vec<_>) = m.partitions.iter().partition(|(t, _)| Some(t) == first);
    let mut topics: Vec<&str> = other.iter().map(|(t, _)| t.as_str()).collect();
    crate::small_sort::sort(&mut topics);
    topics.dedup();
    let s = |n: usize| if n == 1 { "" } else { "s" };
    let (no, nt) = (other.len(), topics.len());
    let text = if main.is_empty() {
        format!(
            "#{k} · {no} partition{} of {nt} other topic{}",
            s(no),
            s(nt)
        )
    } else {
        let ps = if main.len() <= 3 {
            main.iter()
                .map(|(_, p)| format!("P{p}"))
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            format!("{} partitions", main.len())
        };
        if other.is_empty() {
            format!("#{k} · {ps}")
        } else {
            format!("#{k} · {ps} +{no} in {nt} more topic{}", s(nt))
        }
    };
    (text, false)
}

/// The body of a group box: stripe, badge, detail line and member rows.
pub(super) fn draw_group(f: &Frame, node: usize, x: f64, y: f64, w: f64, h: f64, gv: &GroupView) {
    let ctx = f.ctx;
    let th = f.theme;
    let s = f.view.scale;
    let st = &f.layout.style;
    let rows = st.rows(false);
    let pad = st.pad * s;
    let inner = w - 2.0 * pad;
    let small = st.small_px * s;
    let color = group_color(group_index(f, node));
    // The group's colour: a stripe along the left edge.
    ctx.set_fill_style_str(color);
    ctx.fill_rect(x + 1.5 * s, y + 8.0 * s, 3.0 * s, (h - 16.0 * s).max(0.0));

    if gv.rebalancing {
        let px = rows.tag_px * s;
        font(ctx, px, true);
        let label = "REBALANCING";
        let tw = ctx.measure_text(label).map(|m| m.width()).unwrap_or(60.0);
        let bx = x + w - pad - tw - 8.0 * s;
        let by = y + rows.tag_y * s - 1.0 * s;
        ctx.set_fill_style_str(th.retry);
        rrect(ctx, bx, by, tw + 8.0 * s, px + 5.0 * s, 4.0 * s);
        ctx.fill();
        ctx.set_fill_style_str("#111827");
        ctx.set_text_align("left");
        ctx.set_text_baseline("top");
        let _ = ctx.fill_text(label, bx + 4.0 * s, by + 2.5 * s);
        stat(|st| st.rebalancing.push(gv.id.clone()));
    } else if let Some(label) = store_badge(gv) {
        // An event store's refusals (amber: handled, processed again) or,
        // without the check, its stale writes (red: lost updates).
        let px = rows.tag_px * s;
        font(ctx, px, true);
        let tw = ctx.measure_text(&label).map(|m| m.width()).unwrap_or(60.0);
        let bx = x + w - pad - tw - 8.0 * s;
        let by = y + rows.tag_y * s - 1.0 * s;
        let stale = gv.event_store.is_some_and(|e| !e.expected_version);
        ctx.set_fill_style_str(if stale {
            super::nodes::ALERT_RED
        } else {
            th.retry
        });
        rrect(ctx, bx, by, tw + 8.0 * s, px + 5.0 * s, 4.0 * s);
        ctx.fill();
        ctx.set_fill_style_str(if stale { "#ffffff" } else { "#111827" });
        ctx.set_text_align("left");
        ctx.set_text_baseline("top");
        let _ = ctx.fill_text(&label, bx + 4.0 * s, by + 2.5 * s);
        stat(|st| st.store_badges.push(format!("{}: {label}", gv.id)));
    }

    // The lag on the title row, right-aligned, baselines aligned with the name.
    ctx.set_text_align("right");
    ctx.set_text_baseline("top");
    ctx.set_fill_style_str(if gv.lag > 0 { th.text } else { th.muted });
    let lag_y = y + (rows.title_y + (st.title_px - st.small_px) * 0.8) * s;
    let title_w = crate::ui::layout::text::text_w(&gv.id, st.title_px, true) * s;
    text_fit(
        ctx,
        &format!("lag {}", gv.lag),
        x + w - pad,
        lag_y,
        small,
        false,
        (inner - title_w - 8.0 * s).max(1.0),
    );
    ctx.set_text_align("left");

    let mg = MemberGeom::new(st, members_fit(st, h / s));
    let r = mg.dot_r * s;
    let n = gv.members.len();
    for k in 0..n.min(mg.rows) {
        let cy = y + mg.row_cy(k) * s;
        let dx = x + pad + r;
        ctx.set_text_baseline("middle");
        if k == mg.rows - 1 && n > mg.rows {
            ctx.set_fill_style_str(th.muted);
            text_fit(
                ctx,
                &format!("+{} more members", n - k),
                x + pad,
                cy,
                small,
                false,
                inner,
            );
            break;
        }
        let m = &gv.members[k];
        let (text, idle) = member_text(gv, k);
        ctx.begin_path();
        let _ = ctx.arc(dx, cy, r, 0.0, std::f64::consts::TAU);
        ctx.set_line_width((1.5 * s).max(1.0));
        if !m.up {
            // The same crashed mark as the consumer and subscription boxes.
            super::members::crashed_mark(f, dx, cy, r);
        } else if idle || !m.in_group {
            ctx.set_stroke_style_str(th.muted);
            let _ = ctx.set_line_dash(&super::js_dash(&[2.0 * s, 2.0 * s]));
            ctx.stroke();
            let _ = ctx.set_line_dash(&super::js_dash(&[]));
        } else if m.busy {
            ctx.set_fill_style_str(color);
            ctx.fill();
        } else {
            ctx.set_stroke_style_str(color);
            ctx.stroke();
        }
        if idle {
            stat(|st| st.idle += 1);
        }
        ctx.set_fill_style_str(if idle || !m.up { th.muted } else { th.text });
        text_fit(
            ctx,
            &text,
            dx + r + 5.0 * s,
            cy,
            small,
            !m.up,
            (x + w - pad) - (dx + r + 5.0 * s),
        );
    }
    ctx.set_text_baseline("top");
}

/// The event-store badge of a group, once it has something to say.
fn store_badge(gv: &GroupView) -> Option<String> {
    let e = gv.event_store?;
    let (n, one, many) = if e.expected_version {
        (e.version_conflicts, "CONFLICT", "CONFLICTS")
    } else {
        (e.stale_writes, "STALE WRITE", "STALE WRITES")
    };
    (n > 0).then(|| format!("{n} {}", if n == 1 { one } else { many }))
}

/// Member rows a group box of height `h` [layout units] holds.
fn members_fit(st: &crate::ui::layout::Style, h: f64) -> usize {
    let g = MemberGeom::new(st, 1);
    (((h - g.top - st.pad * 0.5) / g.row_h + 0.01).floor() as usize).max(1)
}

/// Ownership lines: from each partition strip to the member of each group
/// that owns it (none while revoked in a rebalance). Drawn over the edges,
/// under tokens.
pub(super) fn draw_links(f: &Frame) {
    let ctx = f.ctx;
    let s = f.view.scale;
    let st = &f.layout.style;
    let boxes: Vec<(usize, &NodeBox)> = f.layout.nodes.iter().enumerate().collect();
    for &(ti, tb) in &boxes {
        if tb.kind != NodeKind::Topic || tb.compact {
            continue;
        }
        let Some(NodeView::Topic(t)) = f.snap.nodes.get(ti) else {
            continue;
        };
        let g = strip_geom(f, t);
        let (tx, ty) = f.view.pt((tb.x + tb.w / 2.0, tb.y - tb.h / 2.0));
        for &(gi_node, gb) in &boxes {
            if gb.kind != NodeKind::Group || gb.compact {
                continue;
            }
            let Some(NodeView::Group(gv)) = f.snap.nodes.get(gi_node) else {
                continue;
            };
            if !gv.topics.contains(&t.id) {
                continue;
            }
            let color = group_color(group_index(f, gi_node));
            let mg = MemberGeom::new(st, members_fit(st, gb.h));
            let (gx, gy) = f.view.pt((gb.x - gb.w / 2.0, gb.y - gb.h / 2.0));
            ctx.set_stroke_style_str(color);
            ctx.set_line_width((1.3 * s).clamp(0.8, 3.0));
            ctx.set_global_alpha(0.75);
            for gp in gv.partitions.iter().filter(|q| q.topic == t.id) {
                let (Some(owner), true) = (gp.owner, (gp.partition as usize) < g.strips) else {
                    continue;
                };
                let Some(m) = gv.members.get(owner as usize) else {
                    continue;
                };
                let (ax, ay) = (tx, ty + g.strip_cy(gp.partition as usize) * s);
                // The line ends at the left of the member's dot.
                let (bx, by) = (gx + st.pad * s, gy + mg.row_cy(owner as usize) * s);
                let dash: &[f64] = if m.up { &[] } else { &[4.0 * s, 3.0 * s] };
                let _ = ctx.set_line_dash(&super::js_dash(dash));
                let mid = (ax + bx) / 2.0;
                ctx.begin_path();
                ctx.move_to(ax, ay);
                ctx.bezier_curve_to(mid, ay, mid, by, bx, by);
                ctx.stroke();
                stat(|st| st.lines += 1);
            }
            let _ = ctx.set_line_dash(&super::js_dash(&[]));
            ctx.set_global_alpha(1.0);
        }
    }
}
