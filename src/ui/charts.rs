//! Metric charts drawn on small canvases: axes in units, a legend, and a
//! cursor at the scrubber's time.
//!
//!   SeriesPoint[] (cumulative counters, levels) ──lines()──► Line[] ──draw()──► canvas
//!
//! Rates are differences of cumulative counters over each sample interval.

use super::render::Theme;
use crate::engine::SeriesPoint;
use web_sys::CanvasRenderingContext2d as Ctx;

pub struct Line {
    pub name: String,
    pub color: &'static str,
    /// (time [s], value)
    pub pts: Vec<(f64, f64)>,
}

/// Queue lines: a palette apart from the token fate colours.
pub const QUEUE_COLORS: [&str; 8] = [
    "#0ea5e9", "#ec4899", "#6366f1", "#84cc16", "#14b8a6", "#a16207", "#64748b", "#e11d48",
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ChartKind {
    Throughput,
    Latency,
    Depth,
    Trouble,
}

impl ChartKind {
    pub const ALL: [ChartKind; 4] = [
        ChartKind::Throughput,
        ChartKind::Latency,
        ChartKind::Depth,
        ChartKind::Trouble,
    ];
    pub fn title(self) -> &'static str {
        match self {
            ChartKind::Throughput => "Throughput",
            ChartKind::Latency => "End-to-end latency",
            ChartKind::Depth => "Depth (ready) · group lag",
            ChartKind::Trouble => "Retries & dead letters",
        }
    }
    /// A short name for buttons.
    pub fn short(self) -> &'static str {
        match self {
            ChartKind::Throughput => "Throughput",
            ChartKind::Latency => "Latency",
            ChartKind::Depth => "Depth & lag",
            ChartKind::Trouble => "Retries",
        }
    }
    pub fn unit(self) -> &'static str {
        match self {
            ChartKind::Throughput => "msg/s",
            ChartKind::Latency => "ms",
            ChartKind::Depth => "messages",
            ChartKind::Trouble => "msg/s",
        }
    }
    pub fn id(self) -> &'static str {
        match self {
            ChartKind::Throughput => "chart-throughput",
            ChartKind::Latency => "chart-latency",
            ChartKind::Depth => "chart-depth",
            ChartKind::Trouble => "chart-trouble",
        }
    }
}

fn rate(pts: &[SeriesPoint], f: impl Fn(&SeriesPoint) -> u64) -> Vec<(f64, f64)> {
    pts.windows(2)
        .map(|w| {
            let dt = (w[1].t_us.saturating_sub(w[0].t_us)) as f64 / 1e6;
            let dv = f(&w[1]).saturating_sub(f(&w[0])) as f64;
            (w[1].t_us as f64 / 1e6, if dt > 0.0 { dv / dt } else { 0.0 })
        })
        .collect()
}

/// What the throughput chart draws besides `published`, from the scenario's
/// shape: Kafka records are processed by groups but never "completed" (they
/// stay in the log), so a topology with consumer groups draws `processed`,
/// and one with nothing but groups to consume leaves out a `completed` line
/// that would sit at zero.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Throughput {
    pub completed: bool,
    pub processed: bool,
}

impl Throughput {
    pub fn of(cfg: &crate::scenario::Scenario) -> Self {
        let kafka = !cfg.consumer_groups.is_empty();
        let others_consume = !cfg.consumers.is_empty()
            || !cfg.pulsar_subscriptions.is_empty()
            || !cfg.redis_subscribers.is_empty()
            || !cfg.redis_groups.is_empty();
        Throughput {
            completed: !kafka || others_consume,
            processed: kafka,
        }
    }
}

/// The chart's lines; `groups` are the consumer groups (their lag joins the
/// depth chart, in the group colours of the picture).
pub fn lines(
    kind: ChartKind,
    pts: &[SeriesPoint],
    queues: &[String],
    groups: &[String],
    throughput: Throughput,
) -> Vec<Line> {
    match kind {
        ChartKind::Throughput => {
            let mut v = vec![Line {
                name: "published".into(),
                color: "#3b82f6",
                pts: rate(pts, |p| p.published),
            }];
            if throughput.completed {
                v.push(Line {
                    name: "completed".into(),
                    color: "#22c55e",
                    pts: rate(pts, |p| p.completed),
                });
            }
            if throughput.processed {
                // Green like the `processed` counter, teal beside `completed`.
                v.push(Line {
                    name: "processed".into(),
                    color: if throughput.completed {
                        "#0d9488"
                    } else {
                        "#22c55e"
                    },
                    pts: rate(pts, |p| p.processed),
                });
            }
            v
        }
        ChartKind::Latency => {
            let sel = |f: fn(&SeriesPoint) -> u64| {
                pts.iter()
                    .filter(|p| f(p) > 0)
                    .map(|p| (p.t_us as f64 / 1e6, f(p) as f64 / 1e3))
                    .collect()
            };
            vec![
                Line {
                    name: "p50".into(),
                    color: "#3b82f6",
                    pts: sel(|p| p.latency_p50_us),
                },
                Line {
                    name: "p99".into(),
                    color: "#ef4444",
                    pts: sel(|p| p.latency_p99_us),
                },
                Line {
                    name: "mean".into(),
                    color: "#a855f7",
                    pts: sel(|p| p.latency_mean_us),
                },
            ]
        }
        ChartKind::Depth => {
            let mut out: Vec<Line> = queues
                .iter()
                .enumerate()
                .take(QUEUE_COLORS.len())
                .map(|(i, q)| Line {
                    name: q.clone(),
                    color: QUEUE_COLORS[i],
                    pts: pts
                        .iter()
                        .map(|p| {
                            (
                                p.t_us as f64 / 1e6,
                                p.depth.get(i).copied().unwrap_or(0) as f64,
                            )
                        })
                        .collect(),
                })
                .collect();
            out.extend(groups.iter().enumerate().take(8).map(|(i, g)| {
                Line {
                    name: format!("{g} lag"),
                    color: super::render::streams::group_color(i),
                    pts: pts
                        .iter()
                        .map(|p| {
                            (
                                p.t_us as f64 / 1e6,
                                p.group_lag.get(i).copied().unwrap_or(0) as f64,
                            )
                        })
                        .collect(),
                }
            }));
            out
        }
        ChartKind::Trouble => vec![
            Line {
                name: "retried".into(),
                color: "#f59e0b",
                pts: rate(pts, |p| p.retried),
            },
            Line {
                name: "dead-lettered".into(),
                color: "#a855f7",
                pts: rate(pts, |p| p.dead_lettered),
            },
            Line {
                name: "dropped+expired".into(),
                color: "#ef4444",
                pts: rate(pts, |p| p.dropped + p.expired),
            },
        ],
    }
}

/// A "nice" upper bound (1, 2, 5 × 10^k) at or above `v`.
pub fn nice_max(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let e = libm::floor(libm::log10(v));
    let base = libm::pow(10.0, e);
    for m in [1.0, 2.0, 5.0, 10.0] {
        if v <= m * base {
            return m * base;
        }
    }
    10.0 * base
}

fn fmt_tick(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if v >= 100.0 || v == v.round() {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Draw one chart into a canvas of `w`×`h` CSS pixels.
#[allow(clippy::too_many_arguments)]
pub fn draw(
    ctx: &Ctx,
    w: f64,
    h: f64,
    th: &Theme,
    kind: ChartKind,
    lines: &[Line],
    x_max_s: f64,
    cursor_s: f64,
    marks_s: &[f64],
) {
    ctx.set_fill_style_str(th.node);
    ctx.fill_rect(0.0, 0.0, w, h);
    let font = |px: f64, bold: bool| {
        ctx.set_font(&format!(
            "{}{px}px system-ui, -apple-system, 'Segoe UI', sans-serif",
            if bold { "600 " } else { "" }
        ))
    };
    let (l, r, b) = (44.0, 10.0, 20.0);
    let mut t = 24.0;
    // Title with unit.
    font(12.0, true);
    ctx.set_fill_style_str(th.text);
    ctx.set_text_align("left");
    ctx.set_text_baseline("top");
    let title = format!("{} ({})", kind.title(), kind.unit());
    let _ = ctx.fill_text(&title, 6.0, 5.0);
    let title_end = 6.0 + ctx.measure_text(&title).map(|m| m.width()).unwrap_or(100.0) + 12.0;
    // Legend: right of the title when it fits, else on its own line.
    font(11.0, false);
    let widths: Vec<f64> = lines
        .iter()
        .map(|line| {
            ctx.measure_text(&line.name)
                .map(|m| m.width())
                .unwrap_or(30.0)
                + 20.0
        })
        .collect();
    let total: f64 = widths.iter().sum();
    let (mut lx, ly) = if w - r - total >= title_end {
        (w - r - total, 6.0)
    } else {
        t = 38.0;
        (6.0, 21.0)
    };
    for (line, lw) in lines.iter().zip(&widths) {
        ctx.set_fill_style_str(line.color);
        ctx.fill_rect(lx, ly + 3.0, 9.0, 4.0);
        ctx.set_fill_style_str(th.muted);
        let _ = ctx.fill_text(&line.name, lx + 12.0, ly);
        lx += lw;
    }
    let pw = (w - l - r).max(10.0);
    let ph = (h - t - b).max(10.0);
    let y_max = nice_max(
        lines
            .iter()
            .flat_map(|l| l.pts.iter().map(|p| p.1))
            .fold(0.0, f64::max)
            * 1.05,
    );
    let x_max = x_max_s.max(1.0);
    let px = |x: f64| l + x / x_max * pw;
    let py = |y: f64| t + ph - y / y_max * ph;
    // Grid and y ticks.
    font(10.0, false);
    ctx.set_text_baseline("middle");
    ctx.set_line_width(1.0);
    for k in 0..=2 {
        let v = y_max * k as f64 / 2.0;
        let y = py(v);
        ctx.set_stroke_style_str(th.grid);
        ctx.begin_path();
        ctx.move_to(l, y);
        ctx.line_to(l + pw, y);
        ctx.stroke();
        ctx.set_fill_style_str(th.muted);
        ctx.set_text_align("right");
        let _ = ctx.fill_text(&fmt_tick(v), l - 5.0, y);
    }
    // X ticks: about four, in seconds.
    let step = nice_max(x_max / 4.0);
    ctx.set_text_baseline("top");
    ctx.set_text_align("center");
    let mut x = 0.0;
    while x <= x_max + 1e-9 {
        let sx = px(x);
        let _ = ctx.fill_text(&format!("{}s", fmt_tick(x)), sx, t + ph + 4.0);
        x += step;
    }
    // Lines.
    ctx.set_line_width(1.8);
    for line in lines {
        if line.pts.is_empty() {
            continue;
        }
        ctx.set_stroke_style_str(line.color);
        ctx.begin_path();
        for (k, &(x, y)) in line.pts.iter().enumerate() {
            if k == 0 {
                ctx.move_to(px(x), py(y));
            } else {
                ctx.line_to(px(x), py(y));
            }
        }
        ctx.stroke();
    }
    // Marks (rebalances): dashed verticals in the retry colour.
    if !marks_s.is_empty() {
        ctx.set_stroke_style_str(th.retry);
        ctx.set_line_width(1.0);
        let _ = ctx.set_line_dash(&super::render::js_dash(&[3.0, 3.0]));
        ctx.begin_path();
        for &m in marks_s.iter().filter(|&&m| m <= x_max) {
            ctx.move_to(px(m), t);
            ctx.line_to(px(m), t + ph);
        }
        ctx.stroke();
        let _ = ctx.set_line_dash(&super::render::js_dash(&[]));
    }
    // Cursor.
    ctx.set_stroke_style_str(th.accent);
    ctx.set_line_width(1.5);
    ctx.begin_path();
    let cx = px(cursor_s.min(x_max));
    ctx.move_to(cx, t);
    ctx.line_to(cx, t + ph);
    ctx.stroke();
}
