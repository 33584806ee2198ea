//! The sweep panel's engine side, run inside a web worker: the same wasm
//! module as the page, instantiated a second time off the page's thread, so
//! a grid of runs never freezes the picture.
//!
//!   page (app/sweep.rs) ──postMessage {glue, module, job}──► www/sweep-worker.js
//!        ▲                                                     import(glue), initSync(module)
//!        │                                                     queuelab_sweep(job, progress)
//!        └──────── {progress: [done, total]} … {done: result JSON} ◄──┘
//!
//! The job and the result are JSON text: what crosses the worker boundary is
//! plain data. The runs are those of `queuelab sweep` (`crate::sweep`: the
//! same grid, seeds, common random numbers and estimates), one after the
//! other, so the panel's numbers equal the CLI's for the same request.

use crate::sweep::{self, Plan};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

/// What the panel asks for.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Job {
    /// The scenario as JSON text (`scenario::to_pretty_json`), read back with
    /// `scenario::parse`: the app's own (de)serialisation paths, so the
    /// worker adds no second copy of the scenario's serde code to the wasm.
    pub scenario: String,
    /// Its title, for the plot.
    pub title: String,
    /// One axis, `PATH=SPEC` as `queuelab sweep --set` takes it.
    pub set: String,
    pub seeds: usize,
    pub seed: u64,
    pub metric: String,
    /// The metric in words, for the plot.
    #[serde(default)]
    pub metric_label: Option<String>,
    pub until_us: u64,
}

/// One grid point's line in the panel's table.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Row {
    pub value: String,
    pub mean: f64,
    pub half_width: f64,
}

/// The answer: a plot, the CSV and the rows, or what went wrong.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum Answer {
    #[serde(rename = "ok")]
    Ok {
        /// The panel's narrow plot.
        svg: String,
        /// The CLI's plot (`queuelab sweep --svg`), for the download.
        svg_full: String,
        csv: String,
        rows: Vec<Row>,
    },
    #[serde(rename = "error")]
    Error(String),
}

/// Most runs the panel asks for (a workshop's live question, not a study).
pub const PANEL_RUNS_MAX: usize = 200;

/// Run `job`, calling `progress(done, total)` after each run.
pub fn run(job: &Job, progress: &mut dyn FnMut(usize, usize)) -> Answer {
    match run_inner(job, progress) {
        Ok(a) => a,
        Err(e) => Answer::Error(e),
    }
}

fn run_inner(job: &Job, progress: &mut dyn FnMut(usize, usize)) -> Result<Answer, String> {
    let axis = sweep::parse_axis(&job.set)?;
    let scenario = crate::scenario::parse(&job.scenario).map_err(|e| e.to_string())?;
    if job.until_us == 0 {
        return Err("run for: the runs need a duration above 0".into());
    }
    let plan = Plan {
        scenario,
        axes: vec![axis],
        seeds: sweep::seeds(job.seed, job.seeds.clamp(1, 50)),
        until_us: job.until_us,
        metrics: vec![job.metric.clone()],
    };
    let points = sweep::prepare(&plan)?;
    let total = points.len() * plan.seeds.len();
    if total > PANEL_RUNS_MAX {
        return Err(format!(
            "{} values × {} seeds = {total} runs; the panel runs at most {PANEL_RUNS_MAX} (use `queuelab sweep` for more)",
            points.len(),
            plan.seeds.len()
        ));
    }
    let mut values = Vec::with_capacity(total);
    for k in 0..total {
        values.push(sweep::run_at(&plan, &points, k)?);
        progress(k + 1, total);
    }
    let out = sweep::summarize(&plan, points, &values);
    let rows = out
        .points
        .iter()
        .zip(&out.estimates)
        .map(|(p, e)| Row {
            value: sweep::cell(&p.values[0]),
            mean: e[0].mean,
            half_width: e[0].half_width,
        })
        .collect();
    let title = format!("{}: what if", job.title);
    Ok(Answer::Ok {
        svg: sweep::svg_styled(
            &plan,
            &out,
            &job.title,
            &sweep::PlotStyle::PANEL,
            job.metric_label.as_deref(),
        ),
        svg_full: sweep::svg(&plan, &out, &title),
        csv: sweep::csv(&plan, &out),
        rows,
    })
}

/// The worker's entry (called from www/sweep-worker.js): `job` is a `Job`
/// as JSON, the result an `Answer` as JSON.
#[wasm_bindgen]
pub fn queuelab_sweep(job: &str, progress: &js_sys::Function) -> String {
    let answer = match serde_json::from_str::<Job>(job) {
        Ok(job) => run(&job, &mut |done, total| {
            let _ = progress.call2(
                &JsValue::NULL,
                &JsValue::from(done as u32),
                &JsValue::from(total as u32),
            );
        }),
        Err(e) => Answer::Error(format!("the sweep request is not valid: {e}")),
    };
    serde_json::to_string(&answer)
        .unwrap_or_else(|e| format!("{{\"error\":\"the answer cannot be written: {e}\"}}"))
}
