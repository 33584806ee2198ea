//! The lesson player: a picker, then one step at a time — narration, an
//! optional predict question, a run of the step's simulated span, and the real
//! outcome (read from the engine by `lesson::finish_step`) beside the guess.
//!
//!   Open(name) ─► Go(step) ─► rebuild the step's start state ─► guess ─► Run / Jump ─►
//!   the run pauses at the step's end (`Sim::end_us`) ─► reveal ─► Next / Back
//!
//! Next and Back restore the exact state at the start of a step: it is rebuilt
//! deterministically from the step's preset, `set`, seed and the commands of
//! the steps that continue it (lessons are short, so this costs milliseconds).
//! Progress (the furthest step finished per lesson) is kept in local storage;
//! `?lesson=NAME&step=N` opens a step directly (the "Link to this step" button).

use super::{App, Msg, Tab};
use crate::lesson::{self, Lesson, StepResult};
use crate::ui::sim::Sim;
use yew::prelude::*;
use yew::TargetCast;

const PROGRESS_KEY: &str = "queuelab.lessons.v1";
/// Wall-clock seconds a step's run takes at the speed the player picks.
const STEP_WALL_S: f64 = 12.0;

pub enum LessonMsg {
    /// Show the picker (None) or open a lesson at its first step.
    Open(Option<String>),
    Go(usize),
    Choose(usize),
    NumberText(String),
    Run,
    JumpToEnd,
    CopyStepLink,
}

pub struct LessonState {
    pub name: String,
    pub lesson: Lesson,
    pub step: usize,
    pub choice: Option<usize>,
    pub number_text: String,
    pub outcome: Option<StepResult>,
    pub error: Option<String>,
    pub note: Option<String>,
    /// The outcome was just revealed: scroll it into view after rendering.
    pub scroll_pending: bool,
}

/// The furthest step finished, per lesson (local storage; absent → empty).
fn load_progress() -> std::collections::BTreeMap<String, usize> {
    web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .and_then(|s| s.get_item(PROGRESS_KEY).ok().flatten())
        .and_then(|t| serde_json::from_slice(t.as_bytes()).ok())
        .unwrap_or_default()
}

fn save_progress(name: &str, step_done: usize) {
    let mut p = load_progress();
    let e = p.entry(name.to_string()).or_insert(0);
    *e = (*e).max(step_done + 1);
    if let Some(s) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        if let Ok(t) = serde_json::to_string(&p) {
            let _ = s.set_item(PROGRESS_KEY, &t);
        }
    }
}

/// The simulation at the start of step `i`: the nearest step at or before it
/// that names a preset, then every continuing step run to its end.
fn start_of_step(l: &Lesson, i: usize) -> Result<Sim, String> {
    let first = (0..=i)
        .rev()
        .find(|&k| l.steps[k].scenario.is_some())
        .ok_or("no step before this one starts a scenario")?;
    let s0 = &l.steps[first];
    let name = s0.scenario.as_deref().unwrap_or_default();
    let preset = crate::scenario::preset(name).ok_or_else(|| format!("no preset {name:?}"))?;
    let sc = lesson::apply_set(&preset.scenario(), &s0.set)?;
    let seed = s0.seed.unwrap_or(sc.seed);
    let mut sim = Sim::new(sc, seed).map_err(|e| e.to_string())?;
    for k in first..=i {
        let step = &l.steps[k];
        for (j, c) in step.commands.iter().enumerate() {
            sim.submit(c.clone())
                .map_err(|e| format!("steps[{k}].commands[{j}]: {e}"))?;
        }
        sim.end_us = sim.now_us().saturating_add(step.run_for.us());
        if k < i {
            sim.seek(sim.end_us);
        }
    }
    Ok(sim)
}

impl App {
    pub(super) fn lesson_msg(&mut self, m: LessonMsg) -> bool {
        match m {
            LessonMsg::Open(None) => {
                self.lesson = None;
                self.tab = Tab::Lesson;
                true
            }
            LessonMsg::Open(Some(name)) => self.open_lesson(&name, 0),
            LessonMsg::Go(i) => {
                let Some(name) = self.lesson.as_ref().map(|l| l.name.clone()) else {
                    return false;
                };
                self.open_lesson(&name, i)
            }
            LessonMsg::Choose(k) => {
                if let Some(l) = self.lesson.as_mut().filter(|l| l.outcome.is_none()) {
                    l.choice = Some(k);
                }
                true
            }
            LessonMsg::NumberText(t) => {
                if let Some(l) = self.lesson.as_mut() {
                    l.number_text = t;
                }
                false
            }
            LessonMsg::Run => {
                let Some(l) = self.lesson.as_ref() else {
                    return false;
                };
                let run_s = l.lesson.steps[l.step].run_for.us() as f64 / 1e6;
                self.speed = (run_s / STEP_WALL_S).clamp(1.0, crate::ui::views::SPEED_MAX);
                self.playing = true;
                self.last_ts = None;
                true
            }
            LessonMsg::JumpToEnd => {
                self.playing = false;
                let end = self.sim.end_us;
                self.seek(end);
                self.lesson_tick();
                true
            }
            LessonMsg::CopyStepLink => {
                let Some(l) = self.lesson.as_mut() else {
                    return false;
                };
                let href = web_sys::window()
                    .map(|w| {
                        let loc = w.location();
                        format!(
                            "{}{}?lesson={}&step={}",
                            loc.origin().unwrap_or_default(),
                            loc.pathname().unwrap_or_default(),
                            l.name,
                            l.step + 1
                        )
                    })
                    .unwrap_or_default();
                if let Some(w) = web_sys::window() {
                    let _ = w.navigator().clipboard().write_text(&href);
                }
                l.note = Some(href);
                true
            }
        }
    }

    /// Open lesson `name` at step `i` (clamped), rebuilding its start state.
    pub(super) fn open_lesson(&mut self, name: &str, i: usize) -> bool {
        let Some(b) = lesson::lesson(name) else {
            return false;
        };
        let l = match lesson::parse(b.json) {
            Ok(l) => l,
            Err(e) => {
                self.command_error = Some(format!("lesson {name}: {e}"));
                return true;
            }
        };
        let i = i.min(l.steps.len().saturating_sub(1));
        let (sim, error) = match start_of_step(&l, i) {
            Ok(sim) => (Some(sim), None),
            Err(e) => (None, Some(e)),
        };
        let step = &l.steps[i];
        if let Some(sim) = sim {
            if let Some(p) = step
                .scenario
                .as_deref()
                .or_else(|| (0..=i).rev().find_map(|k| l.steps[k].scenario.as_deref()))
            {
                self.preset = p.to_string();
                if let Some(ps) = crate::scenario::preset(p) {
                    self.editor_text = ps.json.to_string();
                    self.editor_dirty = false;
                }
            }
            self.playing = false;
            self.restart_with(sim);
            self.share.summary_closed = true;
        }
        let highlight = step.highlight.first().cloned();
        self.lesson = Some(LessonState {
            name: name.to_string(),
            lesson: l,
            step: i,
            choice: None,
            number_text: String::new(),
            outcome: None,
            error,
            note: None,
            scroll_pending: false,
        });
        self.tab = Tab::Lesson;
        self.sel_node = highlight.and_then(|id| self.layout.nodes.iter().position(|n| n.id == id));
        true
    }

    /// After a frame: when the step's run has reached its end, read the outcome.
    pub(super) fn lesson_tick(&mut self) -> bool {
        let Some(l) = self.lesson.as_mut() else {
            return false;
        };
        if l.outcome.is_some() || l.error.is_some() || !self.sim.finished() {
            return false;
        }
        let step = &l.lesson.steps[l.step];
        match lesson::finish_step(step, &self.sim.engine, &l.name) {
            Ok(r) => {
                l.outcome = Some(r);
                l.scroll_pending = true;
                save_progress(&l.name, l.step);
            }
            Err(e) => l.error = Some(e),
        }
        self.share.summary_closed = true;
        true
    }

    /// After rendering: bring a just-revealed outcome into view (the only
    /// DOM effect of the player besides the clipboard and local storage).
    pub(super) fn lesson_rendered(&mut self) {
        let Some(l) = self.lesson.as_mut().filter(|l| l.scroll_pending) else {
            return;
        };
        l.scroll_pending = false;
        if let Some(el) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id("lesson-outcome"))
        {
            el.scroll_into_view_with_bool(true);
        }
    }

    /// Node ids to ring on the canvas for the current step.
    pub(super) fn lesson_highlight(&self) -> Vec<usize> {
        let Some(l) = &self.lesson else {
            return Vec::new();
        };
        l.lesson.steps[l.step]
            .highlight
            .iter()
            .filter_map(|id| self.layout.nodes.iter().position(|n| &n.id == id))
            .collect()
    }

    pub(super) fn view_lesson(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let Some(l) = &self.lesson else {
            let progress = load_progress();
            return html! {
                <div class="lesson-picker" id="lesson-picker">
                    <p class="hint">{"Guided lessons: each step runs a preset and asks you to predict what happens before it does."}</p>
                    <ul>
                        { for lesson::lessons().iter().filter_map(|b| lesson::parse(b.json).ok().map(|l| (b.name, l))).map(|(name, l)| {
                            let done = progress.get(name).copied().unwrap_or(0);
                            let n = l.steps.len();
                            let open = name.to_string();
                            html! {
                                <li>
                                    <button class="lesson-open" data-lesson={name} onclick={link.callback(move |_| Msg::Lesson(LessonMsg::Open(Some(open.clone()))))}>
                                        <b>{ l.title.clone() }</b>
                                        <span class="progress">{ if done >= n { "✓ done".to_string() } else if done > 0 { format!("{done}/{n}") } else { format!("{n} steps") } }</span>
                                    </button>
                                    <div class="summary">{ l.summary.clone() }</div>
                                </li>
                            }
                        }) }
                    </ul>
                </div>
            };
        };
        self.view_lesson_card(ctx, l)
    }

    fn view_lesson_card(&self, ctx: &Context<Self>, l: &LessonState) -> Html {
        let link = ctx.link();
        let n = l.lesson.steps.len();
        let step = &l.lesson.steps[l.step];
        let i = l.step;
        let revealed = l.outcome.is_some();
        let running = self.playing && !revealed;
        let can_next = i + 1 < n && (revealed || step.predict.is_none());
        html! {
            <div class="lesson" id="lesson" data-lesson={l.name.clone()} data-step={i.to_string()} data-revealed={revealed.to_string()}>
                <div class="lesson-head">
                    <button class="btn small" id="lesson-all" title="All lessons" onclick={link.callback(|_| Msg::Lesson(LessonMsg::Open(None)))}>{"☰"}</button>
                    <b class="lesson-title">{ l.lesson.title.clone() }</b>
                    <span class="lesson-count">{ format!("step {} of {n}", i + 1) }</span>
                </div>
                <h3 class="step-title">{ step.title.clone() }</h3>
                <div class="narration" id="lesson-narration">{ crate::ui::markdown::render(&step.narration) }</div>
                if let Some(e) = &l.error {
                    <div class="error" role="alert">{ e.clone() }</div>
                }
                if let Some(p) = &step.predict {
                    <div class="predict" id="lesson-predict">
                        <div class="question"><b>{"Predict: "}</b>{ p.question.clone() }</div>
                        if !p.choices.is_empty() {
                            <div class="choices">
                                { for p.choices.iter().enumerate().map(|(k, c)| {
                                    let right = l.outcome.as_ref().and_then(|o| o.right_choice) == Some(k);
                                    let chosen = l.choice == Some(k);
                                    let mark = match (revealed, right, chosen) {
                                        (true, true, _) => "✓ ",
                                        (true, false, true) => "✗ ",
                                        _ => "",
                                    };
                                    html! {
                                        <button class={classes!("choice", chosen.then_some("chosen"), (revealed && right).then_some("right"), (revealed && chosen && !right).then_some("wrong"))}
                                            disabled={revealed} data-choice={k.to_string()}
                                            onclick={link.callback(move |_| Msg::Lesson(LessonMsg::Choose(k)))}>
                                            { format!("{mark}{}", c.text) }
                                        </button>
                                    }
                                }) }
                            </div>
                        }
                        if let Some(num) = &p.number {
                            <label class="number-guess">
                                { "Your guess" }
                                <input id="lesson-guess" type="number" step="any" disabled={revealed} value={l.number_text.clone()}
                                    oninput={link.callback(|e: InputEvent| Msg::Lesson(LessonMsg::NumberText(e.target_unchecked_into::<web_sys::HtmlInputElement>().value())))} />
                                { num.unit.clone().unwrap_or_default() }
                            </label>
                        }
                        if let Some(o) = &l.outcome {
                            <div class="outcome" id="lesson-outcome" role="status">
                                { self.outcome_line(l, p, o) }
                                <div class="why">{ p.why.clone() }</div>
                            </div>
                        }
                    </div>
                }
                if revealed && step.predict.is_none() {
                    <div class="outcome" id="lesson-outcome" role="status">{"✓ Step run. Look at the picture and the charts, then go on."}</div>
                }
                <div class="lesson-nav">
                    <button class="btn" id="lesson-back" disabled={i == 0} onclick={link.callback(move |_| Msg::Lesson(LessonMsg::Go(i.saturating_sub(1))))}>{"← Back"}</button>
                    if !revealed {
                        <button class="btn primary" id="lesson-run" disabled={running || l.error.is_some()} onclick={link.callback(|_| Msg::Lesson(LessonMsg::Run))}>
                            { if running { "Running…".to_string() } else { format!("▶ Run {}", step.run_for) } }
                        </button>
                        <button class="btn" id="lesson-jump" disabled={l.error.is_some()} title="Skip the animation: jump to the end of this step" onclick={link.callback(|_| Msg::Lesson(LessonMsg::JumpToEnd))}>{"⇥ Jump to end"}</button>
                    }
                    <button class="btn" id="lesson-next" disabled={!can_next} onclick={link.callback(move |_| Msg::Lesson(LessonMsg::Go(i + 1)))}>{"Next →"}</button>
                    <button class="btn small" id="lesson-link" title="Copy a link to this step" onclick={link.callback(|_| Msg::Lesson(LessonMsg::CopyStepLink))}>{"Link"}</button>
                </div>
                if let Some(href) = &l.note {
                    <div class="hint" id="lesson-link-note">{ format!("Link copied: {href}") }</div>
                }
            </div>
        }
    }

    fn outcome_line(&self, l: &LessonState, p: &lesson::Predict, o: &StepResult) -> Html {
        if let (Some(num), Some(x)) = (&p.number, o.number) {
            let unit = num.unit.clone().unwrap_or_default();
            let shown = if x.abs() >= 100.0 {
                format!("{x:.0}")
            } else {
                format!("{x:.1}")
            };
            let guess = crate::scenario::parse_f64(l.number_text.trim());
            let verdict = match guess {
                Some(g) if lesson::number_is_right(num, g, x) => {
                    format!("✓ You said {g} — within {}%", num.tolerance_pct)
                }
                Some(g) => format!("✗ You said {g}"),
                None => "You did not guess".to_string(),
            };
            return html! { <div class="result"><b>{ format!("The run: {shown} {unit}") }</b>{ format!(" · {verdict}") }</div> };
        }
        if let Some(k) = o.right_choice {
            let verdict = match l.choice {
                Some(c) if c == k => "✓ You were right".to_string(),
                Some(_) => "✗ Not this time".to_string(),
                None => "You did not choose".to_string(),
            };
            return html! { <div class="result"><b>{ format!("The run: {}", p.choices[k].text) }</b>{ format!(" · {verdict}") }</div> };
        }
        html! {}
    }
}
