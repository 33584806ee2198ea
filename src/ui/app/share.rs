//! The app's share, embed and end-of-run hooks: opening a link at start,
//! keeping the address bar current, the "Copy link" dialog, the end of a run
//! (finished state, summary, extend) and embed mode's host-page messages.
//!
//!   create ──initial()──► link in the fragment? ──Sim::from_link──► the session
//!   frame ──frame_hooks()──► end reached? pause · address due? replaceState · embed events
//!   host postMessage ──Msg::Embed──► on_embed() ──► the same handlers as the buttons
//!
//! Everything shown from a link (titles, error texts) is a Yew text node.

use super::{App, Msg};
use crate::engine::report::hash_hex;
use crate::link::Link;
use crate::scenario;
use crate::ui::embed::{self, Inbound};
use crate::ui::params::Params;
use crate::ui::share::{self, ViewState};
use crate::ui::sim::Sim;
use serde_json::json;
use yew::prelude::*;

/// What the app starts with.
pub(super) struct Initial {
    pub sim: Sim,
    pub preset: String,
    pub json: String,
    /// Why the link in the address could not be opened.
    pub notice: Option<String>,
    pub view: ViewState,
    /// The fragment that was read (so an untouched session does not rewrite it).
    pub fragment: String,
}

/// State of the share/embed hooks, one field in `App`.
#[derive(Default)]
pub(super) struct ShareState {
    pub address: share::AddressBar,
    /// The hostile-link (or failed load) message, until dismissed.
    pub notice: Option<String>,
    /// The "Copy link" dialog is open, showing this URL.
    pub dialog: Option<String>,
    /// Playback was paused because the frame scrolled off screen.
    pub auto_paused: bool,
    /// The summary card was closed for this finish.
    pub summary_closed: bool,
    /// The "this scenario compares variants" strip was closed (`compare.rs`).
    pub variants_hint_closed: bool,
    /// Whether the run was finished at the last frame (to post `finished` once).
    pub was_finished: bool,
    pub links: Option<embed::EmbedLinks>,
    ready_posted: bool,
    last_time_ms: f64,
    last_totals_ms: f64,
    posted_t_us: Option<u64>,
    posted_totals: Option<crate::engine::Totals>,
    posted_height: u32,
}

/// The preset whose scenario is exactly `sc`, if any (so the picker shows its name).
fn preset_named(sc: &scenario::Scenario) -> String {
    scenario::presets()
        .iter()
        .find(|p| p.scenario() == *sc)
        .map(|p| p.name.to_string())
        .unwrap_or_default()
}

/// Open a link's session, or say why not.
pub(super) fn open_link(text: &str) -> Result<(Sim, ViewState), String> {
    let link = Link::decode(text).map_err(|e| format!("This link could not be opened: {e}"))?;
    let view = ViewState::parse(&link.view);
    let end = view.end_us.unwrap_or(link.scenario.duration.us());
    let sim = Sim::from_link(link.scenario, link.seed, &link.commands, link.time_us, end)
        .map_err(|e| format!("This link could not be replayed: {e}"))?;
    Ok((sim, view))
}

impl App {
    /// The session to start with: the link in the address, else the query's preset.
    pub(super) fn initial(params: &Params) -> Initial {
        let mut notice = None;
        let mut fragment = String::new();
        if let Some(text) = share::fragment_text() {
            match open_link(&text) {
                Ok((sim, view)) => {
                    let json = crate::scenario::to_pretty_json(&sim.scenario);
                    return Initial {
                        preset: preset_named(&sim.scenario),
                        sim,
                        json,
                        notice: None,
                        view,
                        fragment: text,
                    };
                }
                Err(e) => {
                    notice = Some(format!("{e}. Showing the default scenario instead."));
                    fragment = text;
                }
            }
        }
        let name = params.preset.clone().unwrap_or_else(|| "work-queue".into());
        let (sim, preset, json) = App::load_preset(&name, params.seed);
        Initial {
            sim,
            preset,
            json,
            notice,
            view: ViewState::default(),
            fragment,
        }
    }

    /// Apply a link's view state once the layout exists.
    pub(super) fn apply_view(&mut self, view: &ViewState, speed_in_query: bool) {
        if let Some(id) = &view.selected {
            self.sel_node = self.layout.nodes.iter().position(|n| &n.id == id);
        }
        if let (Some(s), false) = (view.speed, speed_in_query) {
            self.speed = s;
        }
    }

    /// The session as a link: scenario, seed, the whole command script, time, view.
    pub(super) fn current_link(&self) -> Link {
        let view = ViewState {
            selected: self
                .sel_node
                .and_then(|i| self.layout.nodes.get(i))
                .map(|n| n.id.clone()),
            end_us: (self.sim.end_us != self.sim.scenario.duration.us()).then_some(self.sim.end_us),
            speed: (self.speed != 1.0).then_some(self.speed),
        };
        Link {
            scenario: self.sim.scenario.clone(),
            seed: self.sim.seed,
            commands: self.sim.script().to_vec(),
            time_us: self.sim.now_us(),
            view: view.to_text(),
        }
    }

    /// Install the host-page links when running inside a frame.
    pub(super) fn install_embed(&mut self, ctx: &Context<Self>) {
        if !embed::in_frame() && !self.embed {
            return;
        }
        let root = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element());
        let on_msg = ctx.link().callback(Msg::Embed);
        let on_vis = ctx.link().callback(Msg::Visible);
        self.share.links =
            embed::EmbedLinks::install(root, move |m| on_msg.emit(m), move |v| on_vis.emit(v));
    }

    /// Does this message change what a link would carry? (Then the address is rewritten.)
    pub(super) fn touches_link(msg: &Msg) -> bool {
        matches!(
            msg,
            Msg::TogglePlay
                | Msg::Step
                | Msg::Restart(_)
                | Msg::Preset(_)
                | Msg::Seek(_)
                | Msg::Up
                | Msg::SelectNode(_)
                | Msg::Cmd(_)
                | Msg::EditorApply
                | Msg::Extend
                | Msg::Embed(_)
                | Msg::Build(_)
        )
    }

    /// Per-frame hooks after the engine advanced. Returns whether to re-render.
    pub(super) fn frame_hooks(&mut self, ts: f64) -> bool {
        let mut render = false;
        if !self.share.ready_posted && self.share.links.is_some() {
            self.share.ready_posted = true;
            self.post_ready();
        }
        let finished = self.sim.finished();
        if finished && self.playing {
            // The run reached its end: stop here, show the summary.
            self.playing = false;
            self.share.auto_paused = false;
            self.snap = self.sim.engine.snapshot();
            self.charts_dirty = true;
            self.share.address.touch(ts);
            render = true;
        }
        if finished && !self.share.was_finished {
            self.share.summary_closed = false;
            embed::post("finished", self.summary_json());
            render = true;
        }
        self.share.was_finished = finished;
        if self.share.address.due(ts) {
            let link = self.current_link();
            // Only embed mode shows the address (its "Open in QueueLab" link);
            // elsewhere no re-render, so a field being typed in is left alone.
            if self.share.address.write(&link).is_some() && self.embed {
                render = true;
            }
        }
        if self.share.links.is_some() {
            self.post_events(ts, false);
        }
        render
    }

    /// Post `time` (≤ 4 Hz), `totals` (≤ 2 Hz) and `height` when they changed.
    fn post_events(&mut self, ts: f64, now: bool) {
        let t = self.sim.now_us();
        if (now || ts - self.share.last_time_ms >= 250.0) && self.share.posted_t_us != Some(t) {
            self.share.last_time_ms = ts;
            self.share.posted_t_us = Some(t);
            embed::post(
                "time",
                json!({"t_us": t, "end_us": self.sim.end_us, "playing": self.playing}),
            );
        }
        let totals = self.snap.totals;
        if (now || ts - self.share.last_totals_ms >= 500.0)
            && self.share.posted_totals != Some(totals)
        {
            self.share.last_totals_ms = ts;
            self.share.posted_totals = Some(totals);
            embed::post("totals", json!({"t_us": t, "totals": totals}));
        }
        let h = self.content_height();
        if h != self.share.posted_height && h > 0 {
            self.share.posted_height = h;
            embed::post("height", json!({"height": h}));
        }
    }

    /// The height this page would like [CSS px]: its chrome plus a canvas as
    /// tall as the topology's shape asks at the current width.
    fn content_height(&self) -> u32 {
        let total = embed::content_height();
        let Some(canvas) = self.canvas.cast::<web_sys::HtmlCanvasElement>() else {
            return total;
        };
        let (cw, ch) = (canvas.client_width() as f64, canvas.client_height() as f64);
        if cw < 10.0 || self.layout.nodes.is_empty() {
            return total;
        }
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for n in &self.layout.nodes {
            x0 = x0.min(n.x - n.w / 2.0);
            x1 = x1.max(n.x + n.w / 2.0);
            y0 = y0.min(n.y - n.h / 2.0);
            y1 = y1.max(n.y + n.h / 2.0);
        }
        let aspect = ((y1 - y0 + 120.0) / (x1 - x0 + 120.0).max(1.0)).clamp(0.3, 1.2);
        let want = (cw * aspect).clamp(240.0, 720.0);
        (total as f64 - ch + want).round().max(0.0) as u32
    }

    /// The end-of-run summary as JSON (the `finished` event).
    fn summary_json(&self) -> serde_json::Value {
        let lat = self.sim.engine.latency_end_to_end();
        json!({
            "t_us": self.sim.now_us(),
            "end_us": self.sim.end_us,
            "totals": self.sim.engine.totals(),
            "latency_us": {"count": lat.count, "mean": lat.mean.round(), "p50": lat.p50, "p99": lat.p99},
            "trace_hash": hash_hex(self.sim.engine.trace_hash()),
        })
    }

    /// Replace the session with `sim` (a loaded link or scenario).
    fn replace_session(&mut self, sim: Sim, view: &ViewState) {
        self.preset = preset_named(&sim.scenario);
        self.editor_text = crate::scenario::to_pretty_json(&sim.scenario);
        self.editor_dirty = false;
        self.editor_errors.clear();
        self.editor_note = None;
        self.restart_with(sim);
        self.apply_view(view, false);
    }

    // ── handlers ──

    pub(super) fn copy_link(&mut self) -> bool {
        let link = self.current_link();
        self.share.address.write(&link);
        match &self.share.address.error {
            Some(e) => self.command_error = Some(format!("no link: {e}")),
            None => {
                let url = self.share.address.url();
                share::copy_to_clipboard(&url);
                self.share.dialog = Some(url);
            }
        }
        true
    }

    pub(super) fn close_dialog(&mut self) -> bool {
        self.share.dialog = None;
        self.share.notice = None;
        true
    }

    /// Move the end of the run on by the scenario's duration and play on.
    pub(super) fn extend_run(&mut self) -> bool {
        self.sim.extend(self.sim.scenario.duration.us());
        self.share.summary_closed = false;
        self.playing = true;
        true
    }

    pub(super) fn close_summary(&mut self) -> bool {
        self.share.summary_closed = true;
        true
    }

    /// The frame scrolled into or out of view.
    pub(super) fn visible(&mut self, on_screen: bool) -> bool {
        if !on_screen && self.playing {
            self.toggle_play();
            self.share.auto_paused = true;
        } else if on_screen && self.share.auto_paused {
            self.share.auto_paused = false;
            if !self.playing && !self.sim.finished() {
                self.toggle_play();
            }
        }
        true
    }

    /// One command from the host page.
    pub(super) fn on_embed(&mut self, m: Result<Inbound, String>) -> bool {
        let m = match m {
            Ok(m) => m,
            Err(e) => {
                embed::post("error", json!({"message": e}));
                return false;
            }
        };
        let mut error = None;
        match m {
            Inbound::Play => {
                self.share.auto_paused = false;
                if !self.playing {
                    self.toggle_play();
                }
            }
            Inbound::Pause => {
                self.share.auto_paused = false;
                if self.playing {
                    self.toggle_play();
                }
            }
            Inbound::Seek(t) => {
                self.seek(t);
            }
            Inbound::Speed(s) => self.speed = s,
            Inbound::Extend => {
                self.extend_run();
            }
            Inbound::Ping => self.post_ready(),
            Inbound::LoadLink(text) => match open_link(&text) {
                Ok((sim, view)) => self.replace_session(sim, &view),
                Err(e) => error = Some(e),
            },
            Inbound::LoadPreset(name, seed) => {
                if scenario::preset(&name).is_some() {
                    self.preset(name);
                    if let Some(seed) = seed {
                        self.seed_text = seed.to_string();
                        self.restart(false);
                    }
                } else {
                    let shown: String = name.chars().take(40).collect();
                    error = Some(format!("no preset named {shown:?}"));
                }
            }
            Inbound::LoadScenario(text, seed) => match scenario::load(&text) {
                Ok(sc) => {
                    let seed = seed.unwrap_or(sc.seed);
                    match Sim::new(sc, seed) {
                        Ok(sim) => self.replace_session(sim, &ViewState::default()),
                        Err(e) => error = Some(format!("invalid scenario: {e}")),
                    }
                }
                Err(e) => error = Some(format!("invalid scenario: {e}")),
            },
            Inbound::Apply(cmd) => {
                self.submit(cmd);
                if let Some(e) = &self.command_error {
                    error = Some(format!("command not applied: {e}"));
                }
            }
        }
        if let Some(e) = error {
            embed::post("error", json!({"message": e}));
        }
        self.post_events(super::frame::now_ms(), true);
        if !self.playing {
            self.paint(super::frame::now_ms());
        }
        true
    }

    pub(super) fn post_ready(&mut self) {
        embed::post(
            "ready",
            json!({
                "version": embed::API_VERSION,
                "title": self.sim.scenario.title,
                "t_us": self.sim.now_us(),
                "end_us": self.sim.end_us,
                "playing": self.playing,
                "height": self.content_height(),
            }),
        );
        self.share.posted_t_us = None;
        self.share.posted_totals = None;
    }

    /// The "Open in QueueLab" address: the full app at this session.
    pub(super) fn open_href(&self) -> String {
        let base = crate::ui::views::full_app_href();
        if self.share.address.written.is_empty() {
            base
        } else {
            format!("{base}#{}", self.share.address.written)
        }
    }

    // ── views ──

    pub(super) fn view_share_button(&self, ctx: &Context<Self>) -> Html {
        html! {
            <>
            <button id="copy-link" class="btn" title="Copy a link to exactly this: scenario, seed, your changes and the time"
                onclick={ctx.link().callback(|_| Msg::CopyLink)}>{"Copy link"}</button>
            <select id="export" class="export" title="Download the picture (SVG for slides, PNG of this moment), the time series (CSV) or the trace (JSON lines)"
                onchange={ctx.link().callback(|e: Event| {
                    let el: web_sys::HtmlSelectElement = e.target_unchecked_into();
                    let v = el.value();
                    el.set_value("");
                    Msg::Export(v)
                })}>
                <option value="" selected=true>{"Export…"}</option>
                <option value="svg">{"Topology (SVG)"}</option>
                <option value="png">{"Picture now (PNG)"}</option>
                <option value="gif">{"Animation of a span (GIF)…"}</option>
                <option value="csv">{"Time series (CSV)"}</option>
                <option value="jsonl">{"Trace (JSON lines)"}</option>
            </select>
            </>
        }
    }

    /// Download one export of the current session (effects: a Blob and a
    /// click on a temporary link; nothing else changes).
    pub(super) fn export(&mut self, kind: &str) -> bool {
        use crate::ui::exports;
        let stem = self.preset.clone();
        let t_ms = self.sim.now_us() / 1000;
        let r = match kind {
            "svg" => exports::download_text(
                &format!("{stem}.svg"),
                "image/svg+xml",
                &exports::topology_svg(&self.layout, &self.sim.scenario.title),
            ),
            "png" => match self
                .canvas
                .cast::<web_sys::HtmlCanvasElement>()
                .map(|c| c.to_data_url())
            {
                Some(Ok(url)) => exports::download_url(&format!("{stem}-{t_ms}ms.png"), &url),
                _ => Err("the canvas cannot be read".into()),
            },
            "csv" => exports::download_text(
                &format!("{stem}-series.csv"),
                "text/csv",
                &crate::export::series_csv(self.sim.engine.config(), self.sim.chart_series()),
            ),
            "jsonl" => {
                let upto = self.sim.visible_log_len();
                let mut text = String::new();
                for ev in self.sim.log.iter().take(upto) {
                    text.push_str(&self.sim.engine.trace_json(ev).to_string());
                    text.push('\n');
                }
                exports::download_text(&format!("{stem}-trace.jsonl"), "application/jsonl", &text)
            }
            _ => return false,
        };
        if let Err(e) = r {
            self.command_error = Some(format!("Export failed: {e}"));
        }
        true
    }

    /// The link dialog and the hostile-link notice (text only, never HTML).
    pub(super) fn view_share_overlays(&self, ctx: &Context<Self>) -> Html {
        let close = ctx.link().callback(|_| Msg::CloseShare);
        html! {
            <>
            if let Some(n) = &self.share.notice {
                <div class="link-notice" id="link-notice" role="alert">
                    <b>{"Link not opened"}</b>
                    <span id="link-notice-text" class="why">{ n.clone() }</span>
                    <button class="btn" id="link-notice-close" onclick={close.clone()}>{"OK"}</button>
                </div>
            }
            if let Some(url) = &self.share.dialog {
                <div class="link-dialog" id="link-dialog" role="dialog" aria-label="Share link">
                    <b>{"Link copied"}</b>
                    <span class="why">{ format!("{} characters; anyone opening it sees this run at {:.3} s.", url.len(), self.sim.now_us() as f64 / 1e6) }</span>
                    <input id="link-text" type="text" readonly=true value={url.clone()}
                        onfocus={Callback::from(|e: FocusEvent| {
                            if let Some(i) = e.target_dyn_into::<web_sys::HtmlInputElement>() { i.select(); }
                        })} />
                    <button class="btn" id="link-dialog-close" onclick={close}>{"Close"}</button>
                </div>
            }
            </>
        }
    }

    /// The end-of-run card: totals and latency, extend or restart.
    pub(super) fn view_finished(&self, ctx: &Context<Self>) -> Html {
        // A lesson shows its own outcome at the end of each step.
        if !self.sim.finished()
            || self.playing
            || self.share.summary_closed
            || self.lesson.is_some()
        {
            return html! {};
        }
        let link = ctx.link();
        let t = self.sim.engine.totals();
        let lat = self.sim.engine.latency_end_to_end();
        let ms = |us: f64| {
            if us >= 10_000.0 {
                format!("{:.0} ms", us / 1000.0)
            } else {
                format!("{:.1} ms", us / 1000.0)
            }
        };
        let dur = self.sim.scenario.duration.us();
        let rows: [(&str, u64); 6] = [
            ("published", t.published),
            ("processed", t.processed),
            ("retried", t.retried),
            ("dead-lettered", t.dead_lettered),
            ("expired", t.expired),
            ("dropped", t.dropped),
        ];
        html! {
            <div class="run-summary" id="run-summary" role="status">
                <div class="head">
                    <b id="finished-title">{ format!("✓ Run finished at {:.1} s", self.sim.now_us() as f64 / 1e6) }</b>
                </div>
                <div class="grid">
                    { for rows.iter().map(|(k, v)| html! {
                        <div class="cell"><span class="v">{ v.to_string() }</span><span class="l">{ *k }</span></div>
                    }) }
                </div>
                <div class="lat" id="summary-latency" title="Publish to done, over every completed message">
                    if lat.count > 0 {
                        { format!(
                            "latency: mean {}{}{} · p50 {} · p99 {}",
                            ms(lat.mean),
                            lat.mean_ci95.map(|ci| format!(" (95%: {} ± {})", ms(ci.mean), ms(ci.half_width))).unwrap_or_default(),
                            self.sim.scenario.theory.as_ref().map(|t| format!(" · theory {}", ms(t.mean_latency.us() as f64))).unwrap_or_default(),
                            ms(lat.p50 as f64),
                            ms(lat.p99 as f64)
                        ) }
                    } else {
                        {"latency: no message completed"}
                    }
                </div>
                <div class="row">
                    <button class="btn primary" id="extend" title="Run on for another scenario duration"
                        onclick={link.callback(|_| Msg::Extend)}>{ format!("+{} more", fmt_dur(dur)) }</button>
                    <button class="btn" id="summary-restart" onclick={link.callback(|_| Msg::Restart(false))}>{"↺ Restart"}</button>
                    <button class="x" title="Hide this summary" onclick={link.callback(|_| Msg::CloseSummary)}>{"×"}</button>
                </div>
            </div>
        }
    }
}

fn fmt_dur(us: u64) -> String {
    if us % 60_000_000 == 0 && us >= 120_000_000 {
        format!("{} min", us / 60_000_000)
    } else if us % 1_000_000 == 0 {
        format!("{} s", us / 1_000_000)
    } else {
        format!("{:.3} s", us as f64 / 1e6)
    }
}
