//! The animation export: a chosen span of the run as an animated GIF,
//! rendered from the engine, not recorded from the screen.
//!
//!   Export ▸ Animation ──dialog (from, to, speed)──► Start
//!        └─► fork of the Sim (same scenario, seed, commands) ──seek(from)
//!            each frame k: advance (speed × 100 ms of simulated time) ──► Tokens on a virtual clock (k × 100 ms)
//!                          ──► render::draw on an off-screen 960 × 540 canvas ──► RGBA ──► GifWriter
//!        └─► a few frames per task (the page stays responsive, a progress line counts) ──► download
//!
//! Guarantee: the same span of the same session (scenario, seed, commands),
//! speed and theme gives the same file, whatever the window size, the speed
//! on screen or what the app does meanwhile: the frames come from a fork at
//! fixed simulated times and a virtual clock, and `crate::animation` encodes
//! them deterministically. The live session is not touched.

use super::{App, Msg};
use crate::animation::GifWriter;
use crate::ui::layout::Layout;
use crate::ui::render::{self, View, DARK, LIGHT};
use crate::ui::sim::Sim;
use crate::ui::tokens::Tokens;
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};
use yew::prelude::*;

/// Frame size [px]: 16:9, sharp on a slide, small enough to mail.
pub const GIF_W: u32 = 960;
pub const GIF_H: u32 = 540;
/// Frames per second of the animation (GIF delays are in 10 ms steps).
pub const GIF_FPS: u32 = 10;
/// Most frames one export renders (30 s of animation).
pub const GIF_FRAMES_MAX: u64 = 300;
/// Most engine events one frame may process (a bound on a frame's work).
const FRAME_EVENTS_MAX: u64 = 2_000_000;
/// Frames rendered per task before the page gets the thread back.
const FRAMES_PER_TASK: u32 = 3;

pub enum GifMsg {
    Open,
    Close,
    From(String),
    To(String),
    Speed(String),
    Start,
    Tick,
}

/// The dialog's fields (text as typed) and the job in progress.
#[derive(Default)]
pub struct GifState {
    pub open: bool,
    from: String,
    to: String,
    speed: String,
    error: Option<String>,
    job: Option<Box<GifJob>>,
    /// What the last export made (shown in the dialog).
    done: Option<String>,
}

struct GifJob {
    sim: Sim,
    tokens: Tokens,
    layout: Layout,
    writer: GifWriter,
    ctx: CanvasRenderingContext2d,
    dark: bool,
    title: String,
    name: String,
    /// Simulated time of frame 0 and per frame [µs].
    from_us: u64,
    step_us: u64,
    speed: f64,
    frame: u64,
    frames: u64,
}

/// The export's inputs, checked: (from_us, to_us, speed), or what is wrong.
pub fn parse_span(
    from: &str,
    to: &str,
    speed: &str,
    end_us: u64,
) -> Result<(u64, u64, f64), String> {
    let secs = |name: &str, t: &str| -> Result<f64, String> {
        let v: f64 = t
            .trim()
            .parse()
            .map_err(|_| format!("{name}: \"{t}\" is not a number of seconds"))?;
        if !v.is_finite() || v < 0.0 {
            return Err(format!("{name}: {t} s is not a time in the run"));
        }
        Ok(v)
    };
    let from_s = secs("from", from)?;
    let to_s = secs("to", to)?;
    let speed: f64 = speed
        .trim()
        .trim_end_matches(['×', 'x'])
        .trim()
        .parse()
        .map_err(|_| {
            format!("speed: \"{speed}\" is not a number (simulated seconds per second)")
        })?;
    if !(speed.is_finite() && speed > 0.0 && speed <= 100_000.0) {
        return Err(format!("speed: {speed} must be above 0 and at most 100000"));
    }
    let from_us = (from_s * 1e6).round() as u64;
    let to_us = (to_s * 1e6).round() as u64;
    if to_us <= from_us {
        return Err(format!("to ({to_s} s) must be after from ({from_s} s)"));
    }
    if from_us >= end_us {
        return Err(format!(
            "from: {from_s} s is past the end of the run ({} s)",
            end_us as f64 / 1e6
        ));
    }
    let frames = frames_for(to_us - from_us, speed);
    if frames > GIF_FRAMES_MAX {
        return Err(format!(
            "{frames} frames: at {speed}× this span plays for {:.0} s; an animation is at most {} s — raise the speed or shorten the span",
            frames as f64 / GIF_FPS as f64,
            GIF_FRAMES_MAX / GIF_FPS as u64
        ));
    }
    Ok((from_us, to_us, speed))
}

/// Simulated µs per frame at `speed`.
fn step_for(speed: f64) -> u64 {
    ((1e6 / GIF_FPS as f64) * speed).round().max(1.0) as u64
}

/// Frames for a span: one at `from`, then one per step up to and including `to`.
fn frames_for(span_us: u64, speed: f64) -> u64 {
    span_us.div_ceil(step_for(speed)) + 1
}

impl App {
    pub(super) fn gif_msg(&mut self, ctx: &Context<Self>, m: GifMsg) -> bool {
        match m {
            GifMsg::Open => {
                let now = self.sim.now_us();
                let span = (5.0 * self.speed * 1e6) as u64;
                let to = (now + span).min(self.sim.end_us.max(now + 1));
                self.gif.open = true;
                self.gif.from = fmt_s(now);
                self.gif.to = fmt_s(to);
                self.gif.speed = format!("{}", self.speed);
                self.gif.error = None;
                self.gif.done = None;
            }
            GifMsg::Close => {
                self.gif.open = false;
                self.gif.job = None;
            }
            GifMsg::From(t) => self.gif.from = t,
            GifMsg::To(t) => self.gif.to = t,
            GifMsg::Speed(t) => self.gif.speed = t,
            GifMsg::Start => {
                self.gif.done = None;
                match self.gif_job() {
                    Ok(job) => {
                        self.gif.error = None;
                        self.gif.job = Some(Box::new(job));
                        ctx.link().send_message(Msg::Gif(GifMsg::Tick));
                    }
                    Err(e) => self.gif.error = Some(e),
                }
            }
            GifMsg::Tick => {
                let Some(job) = self.gif.job.as_mut() else {
                    return false;
                };
                for _ in 0..FRAMES_PER_TASK {
                    if job.frame >= job.frames {
                        break;
                    }
                    if let Err(e) = job.render_frame() {
                        self.gif.error = Some(format!("Animation failed: {e}"));
                        self.gif.job = None;
                        return true;
                    }
                }
                if job.frame < job.frames {
                    let link = ctx.link().clone();
                    gloo::timers::callback::Timeout::new(0, move || {
                        link.send_message(Msg::Gif(GifMsg::Tick))
                    })
                    .forget();
                } else if let Some(job) = self.gif.job.take() {
                    self.gif.done = Some(job.finish());
                }
            }
        }
        true
    }

    fn gif_job(&self) -> Result<GifJob, String> {
        let end_us = self.sim.end_us.max(self.sim.horizon_us);
        let (from_us, to_us, speed) =
            parse_span(&self.gif.from, &self.gif.to, &self.gif.speed, end_us)?;
        let doc = web_sys::window()
            .and_then(|w| w.document())
            .ok_or("no document")?;
        let canvas = doc
            .create_element("canvas")
            .map_err(|_| "cannot make a canvas")?
            .dyn_into::<HtmlCanvasElement>()
            .map_err(|_| "cannot make a canvas")?;
        canvas.set_width(GIF_W);
        canvas.set_height(GIF_H);
        let ctx = canvas
            .get_context("2d")
            .ok()
            .flatten()
            .and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok())
            .ok_or("the browser gives no 2D canvas")?;
        let mut sim = self.sim.fork();
        sim.seek(from_us);
        let step_us = step_for(speed);
        let t_ms = from_us / 1000;
        Ok(GifJob {
            sim,
            tokens: Tokens::default(),
            layout: super::best_layout(&self.sim, GIF_W as f64, GIF_H as f64, false),
            writer: GifWriter::new(GIF_W as u16, GIF_H as u16)?,
            ctx,
            dark: self.dark,
            title: self.sim.scenario.title.clone(),
            name: format!("{}-{t_ms}ms-{}ms.gif", self.preset, to_us / 1000),
            from_us,
            step_us,
            speed,
            frame: 0,
            frames: frames_for(to_us - from_us, speed),
        })
    }

    /// The animation dialog (inputs, progress, result).
    pub(super) fn view_gif_dialog(&self, ctx: &Context<Self>) -> Html {
        if !self.gif.open {
            return html! {};
        }
        let link = ctx.link();
        let input = |id: &'static str, value: &str, f: fn(String) -> GifMsg| {
            html! {
                <input id={id} type="text" inputmode="decimal" value={value.to_string()}
                    oninput={link.callback(move |e: InputEvent| {
                        let el: web_sys::HtmlInputElement = e.target_unchecked_into();
                        Msg::Gif(f(el.value()))
                    })} />
            }
        };
        let busy = self.gif.job.as_ref().map(|j| (j.frame, j.frames));
        html! {
            <div class="link-dialog gif-dialog" id="gif-dialog" role="dialog" aria-label="Export an animation">
                <b>{"Animation (GIF)"}</b>
                <span class="why">{ format!(
                    "{GIF_W} × {GIF_H} px, {GIF_FPS} frames per second, rendered from the engine: the same span gives the same file."
                ) }</span>
                <label>{"from (s)"}{ input("gif-from", &self.gif.from, GifMsg::From) }</label>
                <label>{"to (s)"}{ input("gif-to", &self.gif.to, GifMsg::To) }</label>
                <label>{"speed (×)"}{ input("gif-speed", &self.gif.speed, GifMsg::Speed) }</label>
                <button class="btn" id="gif-start" disabled={busy.is_some()}
                    onclick={link.callback(|_| Msg::Gif(GifMsg::Start))}>{"Render"}</button>
                <button class="btn" id="gif-close"
                    onclick={link.callback(|_| Msg::Gif(GifMsg::Close))}>
                    { if busy.is_some() { "Cancel" } else { "Close" } }</button>
                if let Some((k, n)) = busy {
                    <span class="why" id="gif-progress">{ format!("Rendering frame {k} of {n}…") }</span>
                }
                if let Some(e) = &self.gif.error {
                    <span class="why error" id="gif-error" role="alert">{ e.clone() }</span>
                }
                if let Some(d) = &self.gif.done {
                    <span class="why" id="gif-done">{ d.clone() }</span>
                }
            </div>
        }
    }
}

impl GifJob {
    /// Render frame `self.frame` and add it to the file.
    fn render_frame(&mut self) -> Result<(), String> {
        let now_ms = self.frame as f64 * 1000.0 / GIF_FPS as f64;
        if self.frame > 0 {
            let target = self.from_us + self.frame * self.step_us;
            let mut evs = Vec::new();
            let mut spent = 0u64;
            while self.sim.now_us() < target && !self.sim.finished() && spent < FRAME_EVENTS_MAX {
                let before = self.sim.engine.events();
                let dt = target - self.sim.now_us();
                evs.extend(self.sim.advance(dt, &|| false));
                spent += self.sim.engine.events() - before;
                if self.sim.engine.events() == before && !self.sim.throttled {
                    break;
                }
            }
            self.tokens.ingest(&evs, now_ms, self.speed);
        }
        self.tokens.prune(now_ms);
        let (w, h) = (GIF_W as f64, GIF_H as f64);
        let snap = self.sim.engine.snapshot();
        let theme = if self.dark { &DARK } else { &LIGHT };
        let _ = self.ctx.set_transform(1.0, 0.0, 0.0, 1.0, 0.0, 0.0);
        let frame = render::Frame {
            ctx: &self.ctx,
            w,
            h,
            view: View::fit(&self.layout, w, h - 28.0, super::max_fit_scale(false)),
            layout: &self.layout,
            snap: &snap,
            tokens: &self.tokens,
            theme,
            selected_node: None,
            selected_msg: None,
            now_ms,
            retry_wait: self.sim.engine.ledger().retry_wait,
        };
        render::draw(&frame);
        // The caption: what and when, so a slide says which moment it is.
        let ctx = &self.ctx;
        ctx.set_fill_style_str(theme.label_bg);
        ctx.fill_rect(0.0, h - 28.0, w, 28.0);
        ctx.set_fill_style_str(theme.text);
        ctx.set_font("600 15px system-ui, -apple-system, 'Segoe UI', sans-serif");
        ctx.set_text_baseline("middle");
        ctx.set_text_align("left");
        let _ = ctx.fill_text(&self.title, 10.0, h - 14.0);
        ctx.set_text_align("right");
        let _ = ctx.fill_text(
            &format!(
                "t = {}   ·   {}×   ·   QueueLab",
                render::fmt_us(self.sim.now_us()),
                self.speed
            ),
            w - 10.0,
            h - 14.0,
        );
        let data = ctx
            .get_image_data(0.0, 0.0, w, h)
            .map_err(|_| "the canvas cannot be read")?
            .data();
        self.writer.push(&data, (100 / GIF_FPS) as u16)?;
        self.frame += 1;
        Ok(())
    }

    /// Encode and download; the line the dialog shows.
    fn finish(self) -> String {
        let frames = self.frames;
        let name = self.name.clone();
        match self.writer.finish() {
            Ok((bytes, written)) => {
                match crate::ui::exports::download_bytes(&name, "image/gif", &bytes) {
                    Ok(()) => format!(
                        "Saved {name}: {frames} frames ({written} distinct), {:.0} KiB.",
                        bytes.len() as f64 / 1024.0
                    ),
                    Err(e) => format!("Export failed: {e}"),
                }
            }
            Err(e) => format!("Export failed: {e}"),
        }
    }
}

fn fmt_s(us: u64) -> String {
    let s = format!("{:.3}", us as f64 / 1e6);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() {
        "0".into()
    } else {
        s.to_string()
    }
}
