//! Node boxes and their live content: kind tag, name, detail lines, the
//! queue's fill bar and waiting messages, the consumer's instance dots.
//!
//! Rows sit where `Style::rows` says, so the box the layout sized is the box
//! the text fills. Detail lines drop their least important facts before they
//! would run out of the box (`fit_parts`); nothing is cut mid-word.
//!
//! Marks (each has one meaning and a legend entry):
//!   filled dot ── an instance processing a message (the message's fate colour)
//!   hollow dot ── an idle instance
//!   dashed dot with ✕ ── a crashed instance; all down: dashed outline + "crashed"
//!   teal bar ── queue fill level; tick at the right ── max length
//!   "+N" ── more messages waiting than squares fit
//!   outlined square ── a message with a priority, in a priority queue

use super::{font, rrect, text_fit, Frame, Hit};
use crate::engine::{MessageView, NodeKind, NodeView};
use crate::ui::layout::text::{fit_parts, text_w};
use crate::ui::layout::{dots_per_row, PRIORITY_QUEUE_TAG};
use crate::ui::tokens::{DEAD, FATE_COLORS, NEW, RETRIED};

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

pub(super) fn draw_nodes(f: &Frame) -> Vec<Hit> {
    let ctx = f.ctx;
    let th = f.theme;
    let s = f.view.scale;
    let st = &f.layout.style;
    let mut hits = Vec::new();
    // With a priority queue in the picture, producers also show their
    // messages' mean time to ack: the number a priority queue is about (the
    // layout sized them for it). Looked up once per frame, not per producer.
    let prio_queue = f
        .layout
        .nodes
        .iter()
        .any(|m| m.tag.as_deref() == Some(PRIORITY_QUEUE_TAG));
    // One fill-bar scale for every unbounded queue in the picture: the
    // deepest any has been (at least 20), so queues side by side compare.
    let unbounded_cap = f
        .snap
        .nodes
        .iter()
        .filter_map(|v| match v {
            NodeView::Queue {
                max_length: None,
                depth_max,
                ..
            } => Some(*depth_max),
            _ => None,
        })
        .max()
        .map_or(20.0, |d| (d as f64).max(20.0));
    for (i, n) in f.layout.nodes.iter().enumerate() {
        let rows = st.rows(n.compact);
        let (cx, cy) = f.view.pt((n.x, n.y));
        let (w, h) = (n.w * s, n.h * s);
        let (x, y) = (cx - w / 2.0, cy - h / 2.0);
        let view = f.snap.nodes.get(i);
        let selected = f.selected_node == Some(i);
        let crashed = matches!(view, Some(NodeView::Consumer { instances, .. }) if !instances.is_empty() && instances.iter().all(|i| !i.up));
        // An alert rule on this node fires: a red outline and a badge on the top edge.
        let alarm = f
            .snap
            .alerts
            .iter()
            .find(|a| a.state == "firing" && a.node == n.id);
        ctx.set_fill_style_str(th.node);
        rrect(ctx, x, y, w, h, 10.0 * s);
        ctx.fill();
        let line = (1.5 * s).max(1.0);
        ctx.set_line_width(if selected || crashed || alarm.is_some() {
            line * 2.2
        } else {
            line
        });
        if crashed && !selected {
            let _ = ctx.set_line_dash(&super::js_dash(&[6.0 * s, 4.0 * s]));
        }
        ctx.set_stroke_style_str(if selected {
            th.accent
        } else if crashed {
            th.text
        } else if alarm.is_some() {
            ALERT_RED
        } else if n.band == 1 {
            th.dead
        } else {
            th.node_stroke
        });
        ctx.stroke();
        let _ = ctx.set_line_dash(&super::js_dash(&[]));

        let pad = st.pad * s;
        let inner = w - 2.0 * pad;
        let small = st.small_px * s;
        ctx.set_text_align("left");
        ctx.set_text_baseline("top");
        if !rows.compact {
            ctx.set_fill_style_str(th.muted);
            let sub_kind;
            let kind = match n.kind {
                NodeKind::Producer => n.tag.as_deref().unwrap_or("PRODUCER"),
                NodeKind::Exchange => "EXCHANGE",
                NodeKind::Queue => match f.snap.sqs.iter().find(|q| q.node == i) {
                    Some(q) if q.fifo => "SQS FIFO",
                    Some(_) => "SQS",
                    None => n.tag.as_deref().unwrap_or("QUEUE"),
                },
                NodeKind::Consumer => n.tag.as_deref().unwrap_or("CONSUMER"),
                NodeKind::Topic => "TOPIC",
                NodeKind::Group => "GROUP",
                NodeKind::RedisPubSub => "REDIS PUB/SUB",
                NodeKind::RedisSubscriber => "SUBSCRIBER",
                NodeKind::RedisStream => "REDIS STREAM",
                NodeKind::RedisGroup => "XGROUP",
                NodeKind::PulsarTopic => "PULSAR TOPIC",
                NodeKind::PulsarSubscription => match view {
                    Some(NodeView::PulsarSubscription(v)) => {
                        sub_kind = format!("SUBSCRIPTION · {}", v.sub_type.to_ascii_uppercase());
                        sub_kind.as_str()
                    }
                    _ => "SUBSCRIPTION",
                },
            };
            let tag_w = text_fit(
                ctx,
                kind,
                x + pad,
                y + rows.tag_y * s,
                rows.tag_px * s,
                true,
                inner,
            );
            let breaker_tripped = matches!(view, Some(NodeView::Consumer { breaker: Some(b), .. }) if b.state != "closed");
            if let (Some(a), false) = (alarm, breaker_tripped) {
                // A firing alert: a red badge at the tag row's end (the
                // rule's name when it fits beside the tag, else the word).
                let px = rows.tag_px * s;
                font(ctx, px, true);
                let measure = |t: &str| ctx.measure_text(t).map(|m| m.width()).unwrap_or(60.0);
                let room = inner - tag_w - 16.0 * s;
                let mut label = format!("ALERT {}", a.id);
                if measure(&label) > room {
                    label = "ALERT".into();
                }
                let tw = measure(&label);
                let bx = x + w - pad - tw - 8.0 * s;
                let by = y + rows.tag_y * s - 1.0 * s;
                rrect(ctx, bx, by, tw + 8.0 * s, px + 5.0 * s, 4.0 * s);
                ctx.set_fill_style_str(ALERT_RED);
                ctx.fill();
                ctx.set_fill_style_str("#ffffff");
                let _ = ctx.fill_text(&label, bx + 4.0 * s, by + 2.5 * s);
            }
            if let Some(NodeView::Consumer {
                breaker: Some(b), ..
            }) = view
            {
                if b.state != "closed" {
                    // A tripped breaker: a badge on the tag row, dark when
                    // open (nothing is delivered), outlined when half-open.
                    let px = rows.tag_px * s;
                    font(ctx, px, true);
                    let label = if b.state == "open" {
                        "BREAKER OPEN"
                    } else {
                        "HALF-OPEN"
                    };
                    let tw = ctx.measure_text(label).map(|m| m.width()).unwrap_or(60.0);
                    let bx = x + w - pad - tw - 8.0 * s;
                    let by = y + rows.tag_y * s - 1.0 * s;
                    rrect(ctx, bx, by, tw + 8.0 * s, px + 5.0 * s, 4.0 * s);
                    let open = b.state == "open";
                    if open {
                        ctx.set_fill_style_str(th.text);
                        ctx.fill();
                    } else {
                        ctx.set_stroke_style_str(th.text);
                        ctx.set_line_width((1.5 * s).max(1.0));
                        ctx.stroke();
                    }
                    ctx.set_fill_style_str(if open { th.node } else { th.text });
                    let _ = ctx.fill_text(label, bx + 4.0 * s, by + 2.5 * s);
                }
            }
        }
        ctx.set_fill_style_str(th.text);
        let title_w = text_fit(
            ctx,
            &n.id,
            x + pad,
            y + rows.title_y * s,
            st.title_px * s,
            true,
            inner,
        );
        ctx.set_fill_style_str(th.muted);
        let line_y = y + rows.detail_y * s;
        if rows.compact {
            // One row: the name, then the one number that matters, right-aligned.
            let t = match view {
                Some(NodeView::Producer { rate_per_s, .. }) => fmt_rate(*rate_per_s),
                Some(NodeView::Exchange { routed, .. }) => format!("{routed} routed"),
                Some(NodeView::Queue { depth, .. }) => format!("{depth} ready"),
                Some(NodeView::Consumer {
                    processed,
                    instances,
                    breaker,
                    ..
                }) => {
                    if let Some(b) = breaker.as_ref().filter(|b| b.state != "closed") {
                        ctx.set_fill_style_str(th.text);
                        breaker_state(b).to_string()
                    } else if !instances.is_empty() && instances.iter().all(|i| !i.up) {
                        ctx.set_fill_style_str(th.text);
                        "crashed".to_string()
                    } else {
                        format!("{processed} done")
                    }
                }
                Some(NodeView::Topic(t)) if t.acked_lost > 0 => {
                    ctx.set_fill_style_str(ALERT_RED);
                    super::streams::acked_lost_label(
                        ctx,
                        t.acked_lost,
                        small,
                        false,
                        (inner - title_w - 8.0 * s).max(1.0),
                    )
                }
                Some(NodeView::Topic(t)) => format!("{} appended", t.appended),
                Some(NodeView::Group(g)) => format!("lag {}", g.lag),
                Some(v) => v.broker_text().map(|r| r.compact).unwrap_or_default(),
                None => String::new(),
            };
            ctx.set_text_align("right");
            text_fit(
                ctx,
                &t,
                x + w - pad,
                line_y,
                small,
                false,
                (inner - title_w - 8.0 * s).max(1.0),
            );
            ctx.set_text_align("left");
            continue;
        }
        let detail = |parts: &[(&str, u8)]| fit_parts(parts, inner / s, st.small_px, false);
        match view {
            Some(NodeView::Producer {
                rate_per_s,
                paused,
                end_to_end_mean_us,
                ..
            }) => {
                if *paused {
                    ctx.set_fill_style_str(th.text);
                    text_fit(ctx, "paused", x + pad, line_y, small, true, inner);
                } else {
                    let rate = format!("rate {}", fmt_rate(*rate_per_s));
                    let mean = end_to_end_mean_us
                        .filter(|_| prio_queue)
                        .map(|m| format!("mean {}", super::fmt_us(m as u64)))
                        .unwrap_or_default();
                    let t = detail(&[(&rate, 0), (&mean, 1)]);
                    text_fit(ctx, &t, x + pad, line_y, small, false, inner);
                }
            }
            Some(NodeView::Exchange {
                exchange_kind,
                routed,
                unroutable,
                to_alternate,
                ..
            }) => {
                let routed = format!("routed {routed}");
                let unr = if *unroutable > 0 {
                    format!("unroutable {unroutable}")
                } else if *to_alternate > 0 {
                    format!("to alternate {to_alternate}")
                } else {
                    String::new()
                };
                let kind = if rows.compact {
                    ""
                } else {
                    exchange_kind.as_str()
                };
                let t = if kind.is_empty() {
                    detail(&[(&routed, 0), (&unr, 1)])
                } else {
                    detail(&[(kind, 0), (&routed, 1), (&unr, 2)])
                };
                text_fit(ctx, &t, x + pad, line_y, small, false, inner);
            }
            Some(NodeView::Queue {
                depth,
                unacked,
                max_length,
                ttl_us,
                head,
                priority_levels,
                ..
            }) => {
                let sqs = f.snap.sqs.iter().find(|q| q.node == i);
                let (ready, un, ttl) = match sqs {
                    // SQS: visible and in flight, and the next reappearance.
                    Some(q) => (
                        format!("visible {depth}"),
                        format!("in flight {unacked}"),
                        q.next_visible_in_us
                            .map(|t| format!("next {}", super::fmt_us(t)))
                            .unwrap_or_default(),
                    ),
                    None => (
                        format!("ready {depth}"),
                        format!("unacked {unacked}"),
                        ttl_us
                            .map(|t| format!("TTL {}", super::fmt_us(t)))
                            .unwrap_or_default(),
                    ),
                };
                // What gives way first when the box is narrow: the TTL before
                // the unacked count; on SQS the in-flight count is what the
                // visibility timeout is about, so "next" gives way first.
                let t = if rows.compact {
                    ready.clone()
                } else if sqs.is_some() {
                    detail(&[(&ready, 0), (&un, 1), (&ttl, 2)])
                } else {
                    detail(&[(&ready, 0), (&ttl, 1), (&un, 2)])
                };
                text_fit(ctx, &t, x + pad, line_y, small, false, inner);
                if rows.compact {
                    continue;
                }
                // Fill bar with the max-length mark.
                let bx = x + pad;
                let bw = inner;
                let by = line_y + rows.line_h * s + 2.0 * s;
                let bh = rows.bar_h * s;
                // A bounded queue fills towards its max-length.
                let cap = max_length.map_or(unbounded_cap, |m| m as f64);
                let frac = (*depth as f64 / cap.max(1.0)).clamp(0.0, 1.0);
                ctx.set_fill_style_str(th.bar_bg);
                rrect(ctx, bx, by, bw, bh, bh / 2.0);
                ctx.fill();
                ctx.set_fill_style_str(th.fill);
                if frac > 0.0 {
                    rrect(ctx, bx, by, (bw * frac).max(bh), bh, bh / 2.0);
                    ctx.fill();
                }
                if let Some(m) = max_length {
                    ctx.set_fill_style_str(th.text);
                    ctx.fill_rect(bx + bw - 2.0 * s, by - 3.0 * s, 2.5 * s, bh + 6.0 * s);
                    ctx.set_fill_style_str(th.muted);
                    ctx.set_text_align("right");
                    // The room right of the kind tag (the box is sized for both).
                    let tag = n.tag.as_deref().unwrap_or("QUEUE");
                    let tag_w = text_w(tag, rows.tag_px, true) * s;
                    text_fit(
                        ctx,
                        &format!("max {m}"),
                        x + w - pad,
                        y + rows.tag_y * s,
                        rows.tag_px * s,
                        false,
                        inner - tag_w - 8.0 * s,
                    );
                    ctx.set_text_align("left");
                }
                // Stack of waiting messages, head on the right (towards consumers).
                let sq = rows.sq * s;
                let gap = (rows.sq * 0.35 * s).max(1.0);
                let per_row = ((bw + gap) / (sq + gap)).floor().max(1.0) as usize;
                let shown = (*depth as usize).min(per_row);
                let sy = by + bh + 5.0 * s;
                let more = (*depth as usize).saturating_sub(shown);
                let mut by_fate: [Vec<(f64, f64)>; 3] = [Vec::new(), Vec::new(), Vec::new()];
                // A priority queue outlines its prioritised messages (they
                // sit at the head, on the right, ahead of the rest).
                let mut prioritised: Vec<(f64, f64)> = Vec::new();
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
                        if !priority_levels.is_empty() && m.priority.unwrap_or(0) > 0 {
                            prioritised.push((sx, sy));
                        }
                        hits.push(Hit {
                            x: sx + sq / 2.0,
                            y: sy + sq / 2.0,
                            r: sq.max(5.0),
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
                    ctx.set_fill_style_str(FATE_COLORS[[NEW, RETRIED, DEAD][slot] as usize]);
                    ctx.begin_path();
                    for &(px, py) in pts {
                        ctx.rect(px, py, sq, sq);
                    }
                    ctx.fill();
                }
                if !prioritised.is_empty() {
                    ctx.set_stroke_style_str(th.text);
                    ctx.set_line_width((1.8 * s).max(1.2));
                    ctx.begin_path();
                    for &(px, py) in &prioritised {
                        ctx.rect(px, py, sq, sq);
                    }
                    ctx.stroke();
                }
                if more > 0 {
                    // The overflow count replaces the leftmost squares.
                    font(ctx, small * 0.9, true);
                    let label = format!("+{more}");
                    let tw = ctx.measure_text(&label).map(|t| t.width()).unwrap_or(20.0);
                    ctx.set_fill_style_str(th.node);
                    ctx.fill_rect(bx - 1.0, sy - 2.0 * s, tw + 6.0 * s, sq + 4.0 * s);
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
                breaker,
                ..
            }) => {
                let up = instances.iter().filter(|i| i.up).count();
                let busy = instances
                    .iter()
                    .filter(|i| i.up && (i.busy || i.finishing.is_some()))
                    .count();
                // A tripped circuit breaker is the one thing to see here.
                let tripped = breaker.as_ref().filter(|b| b.state != "closed");
                let state = if let Some(b) = tripped {
                    breaker_state(b).to_string()
                } else if up == 0 && !instances.is_empty() {
                    "crashed".to_string()
                } else if busy == 0 {
                    "idle".to_string()
                } else {
                    format!("{busy}/{} busy", instances.len())
                };
                let held: usize = instances.iter().map(|i| i.held.len()).sum();
                let held = if held > busy {
                    format!("{held} held")
                } else {
                    String::new()
                };
                let done = format!("done {processed}");
                let failed = if *failed > 0 {
                    format!("failed {failed}")
                } else {
                    String::new()
                };
                let bold = (up == 0 && !instances.is_empty()) || tripped.is_some();
                if bold {
                    ctx.set_fill_style_str(th.text);
                }
                if rows.compact {
                    let t = detail(&[(&state, 0), (&done, 1), (&failed, 2), (&held, 3)]);
                    text_fit(ctx, &t, x + pad, line_y, small, bold, inner);
                    continue;
                }
                let t1 = detail(&[(&state, 0), (&held, 1)]);
                text_fit(ctx, &t1, x + pad, line_y, small, bold, inner);
                ctx.set_fill_style_str(th.muted);
                let t2 = detail(&[(&done, 0), (&failed, 1)]);
                text_fit(
                    ctx,
                    &t2,
                    x + pad,
                    line_y + rows.line_h * s,
                    small,
                    false,
                    inner,
                );
                let r = rows.dot_r * s;
                let step = rows.dot_step * s;
                let dots_y = line_y + 2.0 * rows.line_h * s + step / 2.0;
                if instances.len() <= 24 {
                    let per_row = dots_per_row(st, n.w);
                    for (k, inst) in instances.iter().enumerate() {
                        let ix = x + pad + r + (k % per_row) as f64 * step;
                        let iy = dots_y + (k / per_row) as f64 * step;
                        ctx.begin_path();
                        let _ = ctx.arc(ix, iy, r, 0.0, std::f64::consts::TAU);
                        if !inst.up {
                            super::members::crashed_mark(f, ix, iy, r);
                        } else if inst.finishing.is_some() {
                            // Busy with a delivery its closed channel gave
                            // back: the colour of a message going round again.
                            ctx.set_fill_style_str(FATE_COLORS[RETRIED as usize]);
                            ctx.fill();
                        } else if inst.busy {
                            let fate = inst
                                .held
                                .first()
                                .map(|m| message_fate(m, true))
                                .unwrap_or(NEW);
                            ctx.set_fill_style_str(FATE_COLORS[fate as usize]);
                            ctx.fill();
                        } else {
                            ctx.set_stroke_style_str(th.muted);
                            ctx.set_line_width((1.5 * s).max(1.0));
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
                    let down = format!("{} down", instances.len() - up);
                    let all = format!("{} instances", instances.len());
                    let t = detail(&[(&all, 0), (&down, 1)]);
                    ctx.set_text_baseline("middle");
                    text_fit(ctx, &t, x + pad, dots_y, small, false, inner);
                    ctx.set_text_baseline("top");
                }
            }
            Some(NodeView::Topic(t)) => hits.extend(super::streams::draw_topic(f, x, y, w, t)),
            Some(NodeView::Group(g)) => super::streams::draw_group(f, i, x, y, w, h, g),
            Some(NodeView::PulsarSubscription(v)) => {
                super::pulsar::draw_subscription(f, x, line_y, pad, inner, v)
            }
            Some(NodeView::RedisGroup(v)) if !st.brief => {
                super::members::draw_redis_group(f, x, line_y, pad, inner, v)
            }
            Some(v) => {
                if let Some(r) = v.broker_text() {
                    // Presenter mode: the compact text its box was sized for.
                    let t = if st.brief { &r.compact } else { &r.detail };
                    text_fit(ctx, t, x + pad, line_y, small, false, inner);
                }
            }
            None => {}
        }
    }
    hits
}

/// A firing alert: the outline and tab of the node it watches (red in both
/// themes, white text on it).
pub(super) const ALERT_RED: &str = "#dc2626";

/// A tripped circuit breaker's state, as a consumer box says it.
fn breaker_state(b: &crate::engine::view::BreakerView) -> &'static str {
    if b.state == "open" {
        "breaker OPEN"
    } else {
        "breaker half-open"
    }
}
