//! What-if sweeps: one scenario over a grid of field values and several seeds.
//!
//!   --set PATH=SPEC ... ──► grid (cartesian product) × seeds ──► runs (parallel) ──► per point:
//!                                                                  mean and 95% CI across seeds ──► table, CSV, SVG
//!
//! Every grid point runs the same seeds (common random numbers: each component
//! draws from its own stream, so points differ by the change, not by luck).
//! Runs are spread over threads, but each result lands in its own slot, so the
//! output is the same whatever the thread count or timing. The confidence
//! interval is Student's t over the per-seed values (independent replications).
//! Bounded: at most `RUNS_MAX` runs, each with an event budget.

use crate::engine::{Engine, SimTime};
use crate::scenario::{expect, patch, Scenario};
use serde_json::Value;
use std::collections::BTreeMap;

/// Most runs (grid points × seeds) in one sweep.
pub const RUNS_MAX: usize = 2000;
/// Most engine events one run of a sweep may take.
pub const RUN_EVENTS_MAX: u64 = 200_000_000;

/// One swept field and its values.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    pub path: String,
    pub values: Vec<Value>,
}

/// Parse `PATH=SPEC`. SPEC is `a..b` (whole numbers, inclusive), `a..b:step`,
/// or a comma list whose items are JSON (`1`, `0.5`, `true`, `"x"`) or else
/// plain text (`20/s`, `150ms`, `auto`).
pub fn parse_axis(text: &str) -> Result<Axis, String> {
    let (path, spec) = text.split_once('=').ok_or_else(|| {
        format!("--set {text:?}: write PATH=VALUES, e.g. consumers[0].instances=1..8")
    })?;
    let path = path.trim().to_string();
    expect::parse(&format!("{path} == 0")).map_err(|e| format!("--set {path:?}: {e}"))?;
    let spec = spec.trim();
    let values = if let Some((a, rest)) = spec.split_once("..") {
        let (b, step) = rest.split_once(':').unwrap_or((rest, "1"));
        let num = |t: &str| {
            t.trim().parse::<i64>().map_err(|_| {
                format!("--set {path}: {t:?} is not a whole number (ranges are a..b or a..b:step)")
            })
        };
        let (a, b, step) = (num(a)?, num(b)?, num(step)?);
        if step <= 0 || b < a {
            return Err(format!(
                "--set {path}: the range {spec} is empty (need a <= b and step > 0)"
            ));
        }
        // In i128: `b - a` of two i64 overflows i64 (-9e18..9e18).
        let n = (i128::from(b) - i128::from(a)) / i128::from(step) + 1;
        if n > RUNS_MAX as i128 {
            return Err(format!("--set {path}: {n} values; at most {RUNS_MAX}"));
        }
        // Every value lies in a..=b, so fits an i64 (`k * step` may not).
        (0..n)
            .map(|k| Value::from((i128::from(a) + k * i128::from(step)) as i64))
            .collect()
    } else {
        split_values(spec)
            .into_iter()
            .map(|t| {
                let t = t.trim();
                serde_json::from_str::<Value>(t).unwrap_or_else(|_| Value::String(t.to_string()))
            })
            .collect::<Vec<_>>()
    };
    if values.is_empty() || spec.is_empty() {
        return Err(format!("--set {path}: no values"));
    }
    Ok(Axis { path, values })
}

/// A whole sweep's request.
#[derive(Clone, Debug)]
pub struct Plan {
    pub scenario: Scenario,
    pub axes: Vec<Axis>,
    pub seeds: Vec<u64>,
    pub until_us: u64,
    /// Report paths to aggregate (the first is plotted).
    pub metrics: Vec<String>,
}

/// One grid point's values (one per axis) and its scenario.
#[derive(Clone, Debug)]
pub struct Point {
    pub values: Vec<Value>,
    pub scenario: Scenario,
}

/// Mean and 95% confidence interval of one metric at one point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    pub mean: f64,
    pub half_width: f64,
    pub n: usize,
}

/// The result: per point, per metric.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub points: Vec<Point>,
    pub estimates: Vec<Vec<Estimate>>,
}

/// The grid: cartesian product of the axes (the last axis varies fastest),
/// each point validated as a scenario; the error names the point.
pub fn grid(base: &Scenario, axes: &[Axis]) -> Result<Vec<Point>, String> {
    let mut points = vec![Vec::<Value>::new()];
    for ax in axes {
        let mut next = Vec::new();
        for p in &points {
            for v in &ax.values {
                let mut q = p.clone();
                q.push(v.clone());
                next.push(q);
            }
        }
        points = next;
        if points.len() > RUNS_MAX {
            return Err(format!("the grid has more than {RUNS_MAX} points"));
        }
    }
    let mut base = base.clone();
    base.variants.clear();
    base.expect.clear();
    points
        .into_iter()
        .map(|values| {
            let set: BTreeMap<String, Value> = axes
                .iter()
                .zip(&values)
                .map(|(a, v)| (a.path.clone(), v.clone()))
                .collect();
            let scenario = patch::apply(&base, &set)
                .map_err(|e| format!("at {}: {e}", label(axes, &values)))?;
            Ok(Point { values, scenario })
        })
        .collect()
}

/// `consumers[0].instances=3, producers[0].rate="20/s"`.
pub fn label(axes: &[Axis], values: &[Value]) -> String {
    axes.iter()
        .zip(values)
        .map(|(a, v)| format!("{}={}", a.path, cell(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Student's t 0.975 quantile for `df` degrees of freedom (`metrics::t975`).
pub fn t975(df: usize) -> f64 {
    crate::engine::metrics::t975(df)
}

/// Mean and 95% CI half-width of independent replications.
pub fn estimate(xs: &[f64]) -> Estimate {
    let n = xs.len();
    let mean = xs.iter().sum::<f64>() / n.max(1) as f64;
    let half_width = if n < 2 {
        0.0
    } else {
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64;
        t975(n - 1) * (var / n as f64).sqrt()
    };
    Estimate {
        mean,
        half_width,
        n,
    }
}

/// Run one scenario and return its report as JSON.
fn run_one(s: &Scenario, seed: u64, until_us: u64) -> Result<Value, String> {
    let mut e = Engine::new(s.clone(), seed).map_err(|e| e.to_string())?;
    e.set_series(false);
    let o = e.run_until(SimTime(until_us), RUN_EVENTS_MAX);
    if !o.reached {
        return Err(format!(
            "a run did not reach its end within {RUN_EVENTS_MAX} events"
        ));
    }
    serde_json::to_value(e.report("sweep")).map_err(|e| e.to_string())
}

/// A metric's value in a report. `throughput_per_s` is processed over the run's
/// simulated seconds; any other name is a report path.
pub fn metric(report: &Value, name: &str, until_us: u64) -> Result<f64, String> {
    if name == "throughput_per_s" {
        let p = report["totals"]["processed"].as_f64().unwrap_or(0.0);
        return Ok(p / (until_us as f64 / 1e6));
    }
    let e =
        expect::parse(&format!("{name} == 0")).map_err(|e| format!("--metric {name:?}: {e}"))?;
    expect::lookup(report, &e.path)?
        .as_f64()
        .ok_or_else(|| format!("--metric {name:?} is not a number in the report"))
}

/// Check a plan and build its grid: the points, each a valid scenario; the
/// error names the point, or says the grid or a metric name is wrong.
pub fn prepare(plan: &Plan) -> Result<Vec<Point>, String> {
    let points = grid(&plan.scenario, &plan.axes)?;
    let runs = points.len() * plan.seeds.len();
    if runs > RUNS_MAX {
        return Err(format!(
            "{} points × {} seeds = {runs} runs; at most {RUNS_MAX}",
            points.len(),
            plan.seeds.len()
        ));
    }
    // Check the metric names once, before spending any time.
    for m in &plan.metrics {
        if m != "throughput_per_s" {
            expect::parse(&format!("{m} == 0")).map_err(|e| format!("--metric {m:?}: {e}"))?;
        }
    }
    Ok(points)
}

/// Run `k` of the plan (point `k / seeds`, seed `k % seeds`): its metrics.
pub fn run_at(plan: &Plan, points: &[Point], k: usize) -> Result<Vec<f64>, String> {
    let (pi, si) = (k / plan.seeds.len(), k % plan.seeds.len());
    run_one(&points[pi].scenario, plan.seeds[si], plan.until_us)
        .and_then(|rep| {
            plan.metrics
                .iter()
                .map(|m| metric(&rep, m, plan.until_us))
                .collect::<Result<Vec<f64>, String>>()
        })
        .map_err(|e| {
            format!(
                "at {} seed {}: {e}",
                label(&plan.axes, &points[pi].values),
                plan.seeds[si]
            )
        })
}

/// The estimates from every run's metrics (`values[k]` from `run_at(k)`).
pub fn summarize(plan: &Plan, points: Vec<Point>, values: &[Vec<f64>]) -> Outcome {
    let estimates = (0..points.len())
        .map(|pi| {
            (0..plan.metrics.len())
                .map(|mi| {
                    let xs: Vec<f64> = (0..plan.seeds.len())
                        .map(|si| values[pi * plan.seeds.len() + si][mi])
                        .collect();
                    estimate(&xs)
                })
                .collect()
        })
        .collect();
    Outcome { points, estimates }
}

/// Run the plan on `jobs` threads (native: the CLI). The result does not
/// depend on `jobs`. The app's sweep panel runs `run_at` one by one in a
/// web worker instead (`ui/sweep_worker.rs`).
#[cfg(not(target_arch = "wasm32"))]
pub fn run(plan: &Plan, jobs: usize) -> Result<Outcome, String> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    let points = prepare(plan)?;
    let runs = points.len() * plan.seeds.len();
    let slots: Vec<Mutex<Option<Result<Vec<f64>, String>>>> =
        (0..runs).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let work = || loop {
        let k = next.fetch_add(1, Ordering::Relaxed);
        if k >= runs {
            break;
        }
        let r = run_at(plan, &points, k);
        *slots[k].lock().expect("no panics while holding") = Some(r);
    };
    std::thread::scope(|sc| {
        for _ in 0..jobs.clamp(1, 64) {
            sc.spawn(work);
        }
    });
    let mut values: Vec<Vec<f64>> = Vec::with_capacity(runs);
    for s in slots {
        values.push(
            s.into_inner()
                .expect("no poisoned slot")
                .expect("every run was taken")?,
        );
    }
    Ok(summarize(plan, points, &values))
}

/// A swept value as text: a string as written, anything else as JSON.
pub fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// CSV: one row per point; the swept values, then mean, ci_low, ci_high per metric.
pub fn csv(plan: &Plan, out: &Outcome) -> String {
    let quote = |s: &str| {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let mut head: Vec<String> = plan.axes.iter().map(|a| quote(&a.path)).collect();
    head.push("seeds".into());
    for m in &plan.metrics {
        for part in ["mean", "ci95_low", "ci95_high"] {
            head.push(quote(&format!("{m}:{part}")));
        }
    }
    let mut s = head.join(",") + "\n";
    for (p, est) in out.points.iter().zip(&out.estimates) {
        let mut row: Vec<String> = p.values.iter().map(|v| quote(&cell(v))).collect();
        row.push(plan.seeds.len().to_string());
        for e in est {
            row.push(format!("{}", e.mean));
            row.push(format!("{}", e.mean - e.half_width));
            row.push(format!("{}", e.mean + e.half_width));
        }
        s += &(row.join(",") + "\n");
    }
    s
}

/// How a metric is shown: µs fields (`latency_us…`, `…_us`) in ms.
pub fn display_unit(metric: &str) -> (f64, &'static str) {
    if metric.starts_with("latency_us") || metric.ends_with("_us") {
        (1e-3, " ms")
    } else {
        (1.0, "")
    }
}

/// A readable number for axis ticks and tables.
pub fn short(x: f64) -> String {
    let a = x.abs();
    if a >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", x / 1e3)
    } else if a >= 100.0 || x == x.trunc() {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An SVG plot of the first metric against the first axis: one line per
/// combination of the other axes, with 95% CI error bars.
pub fn svg(plan: &Plan, out: &Outcome, title: &str) -> String {
    svg_styled(plan, out, title, &PlotStyle::REPORT, None)
}

/// Size, margins and type of a sweep plot.
#[derive(Clone, Debug)]
pub struct PlotStyle {
    pub w: f64,
    pub h: f64,
    /// Margins: left, right (the legend of other axes' lines), top, bottom.
    pub margins: (f64, f64, f64, f64),
    pub font_px: f64,
    pub title_px: f64,
    /// Name the metric under the title (narrow plots) instead of along the y axis.
    pub metric_on_top: bool,
}

impl PlotStyle {
    /// The CLI's `--svg`: 800 × 480, a legend column on the right.
    pub const REPORT: PlotStyle = PlotStyle {
        w: 800.0,
        h: 480.0,
        margins: (80.0, 200.0, 50.0, 60.0),
        font_px: 14.0,
        title_px: 18.0,
        metric_on_top: false,
    };
    /// The app's sweep panel: narrow, one line, type that stays readable
    /// when the plot is shown about 300 px wide.
    pub const PANEL: PlotStyle = PlotStyle {
        w: 380.0,
        h: 300.0,
        margins: (58.0, 18.0, 58.0, 50.0),
        font_px: 15.0,
        title_px: 16.0,
        metric_on_top: true,
    };
}

/// `svg` in a given style; `metric_label` names the metric in words (else
/// its report path and unit).
pub fn svg_styled(
    plan: &Plan,
    out: &Outcome,
    title: &str,
    style: &PlotStyle,
    metric_label: Option<&str>,
) -> String {
    let (w, h) = (style.w, style.h);
    let (l, r, t, b) = style.margins;
    let xs: Vec<&Value> = plan
        .axes
        .first()
        .map(|a| a.values.iter().collect())
        .unwrap_or_default();
    let nx = xs.len().max(1);
    let numeric_x: Option<Vec<f64>> = xs.iter().map(|v| v.as_f64()).collect();
    let (x_lo, x_hi) = match &numeric_x {
        Some(v) if v.len() > 1 => (
            v.iter().cloned().fold(f64::MAX, f64::min),
            v.iter().cloned().fold(f64::MIN, f64::max),
        ),
        _ => (0.0, (nx - 1).max(1) as f64),
    };
    let x_of = |i: usize| -> f64 {
        let xv = numeric_x
            .as_ref()
            .filter(|v| v.len() > 1)
            .map_or(i as f64, |v| v[i]);
        let span = if x_hi > x_lo { x_hi - x_lo } else { 1.0 };
        l + (xv - x_lo) / span * (w - l - r)
    };
    let (k, unit) = display_unit(&plan.metrics[0]);
    let ys: Vec<(f64, f64)> = out
        .estimates
        .iter()
        .map(|e| {
            (
                (e[0].mean - e[0].half_width) * k,
                (e[0].mean + e[0].half_width) * k,
            )
        })
        .collect();
    // Every metric here is a count, a rate or a time: an interval that
    // reaches below zero is drawn from zero.
    let ys: Vec<(f64, f64)> = ys.into_iter().map(|(a, b)| (a.max(0.0), b)).collect();
    let y_lo = ys.iter().map(|p| p.0).fold(f64::MAX, f64::min).min(0.0);
    let mut y_hi = ys.iter().map(|p| p.1).fold(f64::MIN, f64::max);
    if !(y_hi > y_lo) {
        y_hi = y_lo + 1.0;
    }
    // Round the top up to a multiple of a 1-2-5 tick step (four steps).
    let raw = (y_hi - y_lo) / 4.0;
    let mag = libm::pow(10.0, libm::floor(libm::log10(raw)));
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let y_lo = libm::floor(y_lo / step) * step;
    let y_hi = y_lo + step * libm::ceil((y_hi - y_lo) / step).max(1.0);
    let ticks = libm::round((y_hi - y_lo) / step) as usize;
    let y_of = |y: f64| t + (1.0 - (y - y_lo) / (y_hi - y_lo)) * (h - t - b);
    let colours = [
        "#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563", "#db2777",
    ];
    let (fpx, tpx) = (style.font_px, style.title_px);
    let title_x = if style.metric_on_top { 10.0 } else { l };
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"system-ui, sans-serif\" font-size=\"{fpx}\">\n<rect width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>\n<text x=\"{title_x}\" y=\"{:.0}\" font-size=\"{tpx}\" font-weight=\"600\">{}</text>\n",
        tpx + 8.0,
        esc(title)
    );
    let metric_text = format!(
        "{}{}",
        metric_label.unwrap_or(&plan.metrics[0]),
        if unit.is_empty() {
            String::new()
        } else {
            format!(" [{}]", unit.trim())
        }
    );
    // Axes and ticks.
    s += &format!(
        "<line x1=\"{l}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#334155\"/>\n",
        h - b,
        w - r,
        h - b
    );
    s += &format!(
        "<line x1=\"{l}\" y1=\"{t}\" x2=\"{l}\" y2=\"{}\" stroke=\"#334155\"/>\n",
        h - b
    );
    for k in 0..=ticks {
        let y = y_lo + step * k as f64;
        let py = y_of(y);
        s += &format!("<line x1=\"{}\" y1=\"{py:.1}\" x2=\"{}\" y2=\"{py:.1}\" stroke=\"#e2e8f0\"/>\n<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n", l, w - r, l - 8.0, py + 5.0, short(y));
    }
    for (i, v) in xs.iter().enumerate() {
        s += &format!(
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
            x_of(i),
            h - b + 22.0,
            esc(&cell(v))
        );
    }
    if let Some(a) = plan.axes.first() {
        s += &format!(
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\" fill=\"#475569\">{}</text>\n",
            (l + w - r) / 2.0,
            h - 14.0,
            esc(&a.path)
        );
    }
    if style.metric_on_top {
        s += &format!(
            "<text x=\"10\" y=\"{:.0}\" font-size=\"{:.0}\" fill=\"#475569\">{} · 95% CI, {} seeds</text>\n",
            tpx + 8.0 + fpx + 8.0,
            fpx - 2.0,
            esc(&metric_text),
            plan.seeds.len()
        );
    } else {
        s += &format!("<text x=\"18\" y=\"{:.1}\" transform=\"rotate(-90 18 {:.1})\" text-anchor=\"middle\" fill=\"#475569\">{} (mean, 95% CI, {} seeds)</text>\n", (t + h - b) / 2.0, (t + h - b) / 2.0, esc(&metric_text), plan.seeds.len());
    }
    // One series per combination of the other axes.
    let per_series = nx;
    let series = out.points.len() / per_series.max(1);
    // Points are ordered with the last axis fastest; the first axis is the x.
    for sidx in 0..series {
        let colour = colours[sidx % colours.len()];
        let idx = |i: usize| i * series + sidx;
        let mut path = String::new();
        for i in 0..nx {
            let e = out.estimates[idx(i)][0];
            let (mean, hw) = (e.mean * k, e.half_width * k);
            let (px, py) = (x_of(i), y_of(mean));
            path += &format!("{}{px:.1},{py:.1} ", if i == 0 { "M" } else { "L" });
            let (y0, y1) = (y_of((mean - hw).max(0.0)), y_of(mean + hw));
            s += &format!("<line x1=\"{px:.1}\" y1=\"{y0:.1}\" x2=\"{px:.1}\" y2=\"{y1:.1}\" stroke=\"{colour}\" stroke-width=\"2\"/>\n<line x1=\"{:.1}\" y1=\"{y0:.1}\" x2=\"{:.1}\" y2=\"{y0:.1}\" stroke=\"{colour}\"/>\n<line x1=\"{:.1}\" y1=\"{y1:.1}\" x2=\"{:.1}\" y2=\"{y1:.1}\" stroke=\"{colour}\"/>\n<circle cx=\"{px:.1}\" cy=\"{py:.1}\" r=\"4\" fill=\"{colour}\"/>\n", px - 5.0, px + 5.0, px - 5.0, px + 5.0);
        }
        s += &format!(
            "<path d=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2.5\"/>\n",
            path.trim()
        );
        if plan.axes.len() > 1 {
            let name = label(&plan.axes[1..], &out.points[idx(0)].values[1..]);
            s += &format!(
                "<text x=\"{}\" y=\"{:.1}\" fill=\"{colour}\">{}</text>\n",
                w - r + 12.0,
                t + 20.0 + 22.0 * sidx as f64,
                esc(&name)
            );
        }
    }
    s += "</svg>\n";
    s
}

/// The table printed to stdout.
pub fn table(plan: &Plan, out: &Outcome) -> String {
    let mut s = String::new();
    let mut head = plan
        .axes
        .iter()
        .map(|a| a.path.clone())
        .collect::<Vec<_>>()
        .join("  ");
    for m in &plan.metrics {
        head += &format!("  | {m} (mean ± 95% CI)");
    }
    s += &head;
    s.push('\n');
    for (p, est) in out.points.iter().zip(&out.estimates) {
        let mut row = p
            .values
            .iter()
            .zip(&plan.axes)
            .map(|(v, a)| format!("{:<w$}", cell(v), w = a.path.len()))
            .collect::<Vec<_>>()
            .join("  ");
        for (e, m) in est.iter().zip(&plan.metrics) {
            let (mut k, mut unit) = display_unit(m);
            if unit == " ms" && e.mean * k >= 10_000.0 {
                (k, unit) = (k * 1e-3, " s");
            }
            let text = format!("{} ± {}{unit}", short(e.mean * k), short(e.half_width * k));
            row += &format!("  | {:<w$}", text, w = m.len() + 21);
        }
        s += row.trim_end();
        s.push('\n');
    }
    s
}

/// Default metrics: end-to-end latency mean and p99, throughput, drops.
pub fn default_metrics() -> Vec<String> {
    [
        "latency_us.end_to_end.mean",
        "latency_us.end_to_end.p99",
        "throughput_per_s",
        "totals.dropped",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Seeds `base, base+1, …` (wrapping).
pub fn seeds(base: u64, n: usize) -> Vec<u64> {
    (0..n as u64).map(|k| base.wrapping_add(k)).collect()
}

/// `a,b,c` at the commas outside double quotes, so a JSON string value may
/// hold one (`"compact,delete"`).
fn split_values(spec: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, ch) in spec.char_indices() {
        match ch {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&spec[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&spec[start..]);
    out
}
