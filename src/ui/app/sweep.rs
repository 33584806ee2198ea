//! The sweep panel: "how many consumers do we need?" answered live. One
//! field of the current scenario over a few values, a few seeds each, one
//! metric, run in a web worker and plotted with its 95% intervals.
//!
//!   Sweep tab ──Run──► Worker(sweep-worker.js) ◄─postMessage {glue, module, job}
//!        ▲                     │ progress after each run, then the answer (JSON)
//!        └── SweepMsg::Progress / Done ◄─┘         ──► plot (the CLI's SVG), table, CSV
//!
//! The panel sweeps the scenario as loaded (knobs turned while it plays are
//! commands, not part of it) from the session's seed, so its numbers equal
//! `queuelab sweep FILE --set PATH=VALUES --seeds N --seed S --metric M
//! --until T` on the same file. Cancel terminates the worker; nothing here
//! touches the live session.

use super::{App, Msg};
use crate::sweep::short;
use crate::ui::sweep_worker::{Answer, Job, Row};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use yew::prelude::*;

pub enum SweepMsg {
    Path(String),
    Spec(String),
    Seeds(String),
    Metric(String),
    RunFor(String),
    Run,
    Cancel,
    Progress(u32, u32),
    Done(String),
    Download(&'static str),
}

/// The metrics the panel offers: (report path, label).
pub const METRICS: [(&str, &str); 5] = [
    ("latency_us.end_to_end.mean", "mean end-to-end latency"),
    ("latency_us.end_to_end.p99", "p99 end-to-end latency"),
    ("throughput_per_s", "throughput (processed per s)"),
    ("totals.dropped", "dropped messages"),
    ("totals.dead_lettered", "dead-lettered messages"),
];

#[derive(Default)]
pub struct SweepState {
    /// The form, as typed (filled from the scenario when the tab opens).
    path: String,
    spec: String,
    seeds: String,
    metric: String,
    run_for: String,
    /// For which scenario the form was filled.
    filled_for: String,
    running: Option<Running>,
    progress: (u32, u32),
    answer: Option<(Job, Answer)>,
    error: Option<String>,
    /// Once rendered, scroll the side panel to the result.
    pub(super) scroll: bool,
}

struct Running {
    worker: web_sys::Worker,
    job: Job,
    _on_message: Closure<dyn FnMut(web_sys::MessageEvent)>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

/// Swept fields that make sense for this scenario, most useful first, with
/// a value range around the current value: (path, values).
pub fn suggestions(s: &crate::scenario::Scenario) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, c) in s.consumers.iter().enumerate() {
        let n = c.instances.max(1);
        out.push((
            format!("consumers[{i}].instances"),
            format!("1..{}", (n * 2).clamp(4, 12)),
        ));
    }
    for (i, g) in s.consumer_groups.iter().enumerate() {
        let n = g.members.max(1);
        out.push((
            format!("consumer_groups[{i}].members"),
            format!("1..{}", (n * 2).clamp(4, 12)),
        ));
    }
    for (i, _) in s.producers.iter().enumerate() {
        out.push((format!("producers[{i}].rate"), "5/s,10/s,20/s,40/s".into()));
    }
    for (i, _) in s.queues.iter().enumerate() {
        out.push((format!("queues[{i}].max_length"), "5,10,50,100".into()));
    }
    out
}

impl App {
    /// Fill the form from the scenario the first time the tab shows it.
    pub(super) fn sweep_fill(&mut self) {
        let key = format!("{}#{}", self.preset, self.sim.scenario.title);
        if self.sweep.filled_for == key {
            return;
        }
        let sc = &self.sim.scenario;
        let (path, spec) = suggestions(sc)
            .into_iter()
            .next()
            .unwrap_or_else(|| ("producers[0].rate".into(), "5/s,10/s,20/s".into()));
        self.sweep.path = path;
        self.sweep.spec = spec;
        self.sweep.seeds = "5".into();
        self.sweep.metric = METRICS[0].0.into();
        let dur_s = (sc.duration.us() as f64 / 1e6).min(60.0);
        self.sweep.run_for = format!("{}", dur_s.max(1.0).round());
        self.sweep.filled_for = key;
        self.sweep.answer = None;
        self.sweep.error = None;
    }

    pub(super) fn sweep_msg(&mut self, ctx: &Context<Self>, m: SweepMsg) -> bool {
        match m {
            SweepMsg::Path(t) => self.sweep.path = t,
            SweepMsg::Spec(t) => self.sweep.spec = t,
            SweepMsg::Seeds(t) => self.sweep.seeds = t,
            SweepMsg::Metric(t) => self.sweep.metric = t,
            SweepMsg::RunFor(t) => self.sweep.run_for = t,
            SweepMsg::Cancel => {
                self.sweep.running = None;
                self.sweep.error = Some("Cancelled.".into());
            }
            SweepMsg::Run => {
                self.sweep.running = None;
                self.sweep.error = None;
                match self.sweep_job().and_then(|job| spawn(ctx, job)) {
                    Ok(r) => {
                        self.sweep.progress = (0, 0);
                        self.sweep.running = Some(r);
                    }
                    Err(e) => {
                        self.sweep.error = Some(e);
                        self.sweep.scroll = true;
                    }
                }
            }
            SweepMsg::Progress(done, total) => self.sweep.progress = (done, total),
            SweepMsg::Done(json) => {
                let Some(r) = self.sweep.running.take() else {
                    return false;
                };
                self.sweep.scroll = true;
                match serde_json::from_str::<Answer>(&json) {
                    Ok(Answer::Error(e)) => self.sweep.error = Some(e),
                    Ok(a) => self.sweep.answer = Some((r.job.clone(), a)),
                    Err(e) => {
                        self.sweep.error = Some(format!("the worker's answer is unreadable: {e}"))
                    }
                }
            }
            SweepMsg::Download(kind) => {
                if let Some((_, Answer::Ok { svg_full, csv, .. })) = &self.sweep.answer {
                    let stem = format!("{}-sweep", self.preset);
                    let r = if kind == "csv" {
                        crate::ui::exports::download_text(&format!("{stem}.csv"), "text/csv", csv)
                    } else {
                        crate::ui::exports::download_text(
                            &format!("{stem}.svg"),
                            "image/svg+xml",
                            svg_full,
                        )
                    };
                    if let Err(e) = r {
                        self.sweep.error = Some(format!("Download failed: {e}"));
                    }
                }
            }
        }
        true
    }

    fn sweep_job(&self) -> Result<Job, String> {
        let f = &self.sweep;
        if f.path.trim().is_empty() {
            return Err("field: name a scenario field, e.g. consumers[0].instances".into());
        }
        let seeds: usize = f
            .seeds
            .trim()
            .parse()
            .ok()
            .filter(|n| (1..=50).contains(n))
            .ok_or_else(|| format!("seeds: \"{}\" is not a whole number from 1 to 50", f.seeds))?;
        let run_for: f64 = f
            .run_for
            .trim()
            .parse()
            .ok()
            .filter(|s: &f64| s.is_finite() && *s > 0.0 && *s <= 3600.0)
            .ok_or_else(|| {
                format!(
                    "run for: \"{}\" is not a number of seconds from above 0 to 3600",
                    f.run_for
                )
            })?;
        Ok(Job {
            scenario: crate::scenario::to_pretty_json(&self.sim.scenario),
            title: self.sim.scenario.title.clone(),
            set: format!("{}={}", f.path.trim(), f.spec.trim()),
            seeds,
            seed: self.sim.seed,
            metric: f.metric.clone(),
            metric_label: METRICS
                .iter()
                .find(|(p, _)| *p == f.metric)
                .map(|(_, l)| l.to_string()),
            until_us: (run_for * 1e6).round() as u64,
        })
    }

    pub(super) fn view_sweep(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let f = &self.sweep;
        let text = |id: &'static str,
                    value: &str,
                    list: Option<&'static str>,
                    m: fn(String) -> SweepMsg| {
            html! {
                <input id={id} type="text" value={value.to_string()} list={list}
                    oninput={link.callback(move |e: InputEvent| {
                        let el: web_sys::HtmlInputElement = e.target_unchecked_into();
                        Msg::Sweep(m(el.value()))
                    })} />
            }
        };
        let suggestions = suggestions(&self.sim.scenario);
        let running = f.running.is_some();
        html! {
            <div class="sweep" id="sweep-panel">
                <h3>{"What if? A sweep"}</h3>
                <p class="hint">{"Run this scenario for several values of one field, a few seeds each (the same seeds for every value), and plot a metric with its 95% interval. It runs in the background; the simulation keeps playing."}</p>
                <label>{"Field"}{ text("sweep-path", &f.path, Some("sweep-fields"), SweepMsg::Path) }</label>
                <datalist id="sweep-fields">
                    { for suggestions.iter().map(|(p, _)| html! { <option value={p.clone()} /> }) }
                </datalist>
                <div class="row">
                    <label class="wide">{"Values"}{ text("sweep-spec", &f.spec, None, SweepMsg::Spec) }</label>
                    <label>{"Seeds"}{ text("sweep-seeds", &f.seeds, None, SweepMsg::Seeds) }</label>
                    <label>{"Run (s)"}{ text("sweep-for", &f.run_for, None, SweepMsg::RunFor) }</label>
                </div>
                <label>{"Metric"}
                    <select id="sweep-metric" onchange={link.callback(|e: Event| {
                        let el: web_sys::HtmlSelectElement = e.target_unchecked_into();
                        Msg::Sweep(SweepMsg::Metric(el.value()))
                    })}>
                        { for METRICS.iter().map(|(p, l)| html! {
                            <option value={*p} selected={f.metric == *p}>{ *l }</option>
                        }) }
                    </select>
                </label>
                <div class="row">
                    <button class="btn primary" id="sweep-run" disabled={running}
                        onclick={link.callback(|_| Msg::Sweep(SweepMsg::Run))}>{"Run sweep"}</button>
                    if running {
                        <button class="btn" id="sweep-cancel" onclick={link.callback(|_| Msg::Sweep(SweepMsg::Cancel))}>{"Cancel"}</button>
                        <span class="progress" id="sweep-progress">{ format!("run {} of {}", f.progress.0, f.progress.1.max(1)) }</span>
                    }
                </div>
                <div id="sweep-result">
                    if let Some(e) = &f.error {
                        <div class="error" id="sweep-error" role="alert">{ e.clone() }</div>
                    }
                    { self.view_sweep_answer(ctx) }
                </div>
            </div>
        }
    }

    fn view_sweep_answer(&self, ctx: &Context<Self>) -> Html {
        let Some((job, Answer::Ok { svg, rows, .. })) = &self.sweep.answer else {
            return html! {};
        };
        let link = ctx.link();
        let url = format!(
            "data:image/svg+xml;charset=utf-8,{}",
            String::from(js_sys::encode_uri_component(svg))
        );
        let (scale, unit) = crate::sweep::display_unit(&job.metric);
        let path = job.set.split('=').next().unwrap_or("").to_string();
        // The table's column: the field's last name (`instances`), the
        // whole path is in the plot and the form.
        let column = path.rsplit('.').next().unwrap_or(&path).to_string();
        html! {
            <div class="sweep-answer" id="sweep-answer">
                <img id="sweep-plot" src={url} alt={format!("{} against {path}", job.metric)} />
                <table class="sweep-table" id="sweep-table">
                    <tr><th>{ column }</th><th>{ format!("mean ± 95%{}", match unit.trim() { "" => String::new(), u => format!(" ({u})") }) }</th></tr>
                    { for rows.iter().map(|r: &Row| html! {
                        <tr><td>{ r.value.clone() }</td>
                            <td>{ format!("{} ± {}", short(r.mean * scale), short(r.half_width * scale)) }</td></tr>
                    }) }
                </table>
                <div class="row">
                    <button class="btn" id="sweep-csv" onclick={link.callback(|_| Msg::Sweep(SweepMsg::Download("csv")))}>{"Download CSV"}</button>
                    <button class="btn" id="sweep-svg" onclick={link.callback(|_| Msg::Sweep(SweepMsg::Download("svg")))}>{"Download SVG"}</button>
                </div>
            </div>
        }
    }
}

/// The URL of the app's wasm-bindgen glue module (Trunk preloads it), which
/// the worker imports to instantiate the same wasm module.
fn glue_url() -> Result<String, String> {
    let doc = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let links = doc
        .query_selector_all("link[rel=modulepreload]")
        .map_err(|_| "cannot read the page's scripts")?;
    for i in 0..links.length() {
        if let Some(href) = links
            .item(i)
            .and_then(|n| n.dyn_into::<web_sys::Element>().ok())
            .and_then(|el| el.get_attribute("href"))
        {
            let file = href.rsplit('/').next().unwrap_or("");
            if file.starts_with("queuelab-") && file.ends_with(".js") {
                let base = doc.base_uri().ok().flatten().unwrap_or_default();
                return web_sys::Url::new_with_base(&href, &base)
                    .map(|u| u.href())
                    .map_err(|_| format!("the glue's address {href} is not a URL"));
            }
        }
    }
    Err("this page does not name the app's glue script, so the sweep worker cannot start".into())
}

/// Start a worker on `job`; its messages come back as `Msg::Sweep`.
fn spawn(ctx: &Context<App>, job: Job) -> Result<Running, String> {
    let glue = glue_url()?;
    let opts = web_sys::WorkerOptions::new();
    opts.set_type(web_sys::WorkerType::Module);
    let worker = web_sys::Worker::new_with_options("sweep-worker.js", &opts)
        .map_err(|_| "the browser cannot start the sweep worker".to_string())?;
    let link = ctx.link().clone();
    let on_message =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
            let data = e.data();
            let get = |k: &str| js_sys::Reflect::get(&data, &JsValue::from_str(k)).ok();
            if let Some(p) = get("progress").filter(|v| v.is_object()) {
                let arr = js_sys::Array::from(&p);
                let n = |i: u32| arr.get(i).as_f64().unwrap_or(0.0) as u32;
                link.send_message(Msg::Sweep(SweepMsg::Progress(n(0), n(1))));
            } else if let Some(d) = get("done").and_then(|v| v.as_string()) {
                link.send_message(Msg::Sweep(SweepMsg::Done(d)));
            }
        });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    let msg = js_sys::Object::new();
    let job_text = serde_json::to_string(&job).map_err(|e| e.to_string())?;
    let set = |k: &str, v: &JsValue| js_sys::Reflect::set(&msg, &JsValue::from_str(k), v);
    set("glue", &JsValue::from_str(&glue)).map_err(|_| "cannot build the message")?;
    set("module", &wasm_bindgen::module()).map_err(|_| "cannot build the message")?;
    set("job", &JsValue::from_str(&job_text)).map_err(|_| "cannot build the message")?;
    worker
        .post_message(&msg)
        .map_err(|_| "the sweep worker refused the job".to_string())?;
    Ok(Running {
        worker,
        job,
        _on_message: on_message,
    })
}
