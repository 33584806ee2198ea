//! Message handling: one method per `Msg`, grouped by what it touches
//! (playback, selection, commands, log filters, editor, panels). Canvas
//! pointer messages live in `pointer.rs`, the frame in `frame.rs`.
//!
//! Every handler changes App state and returns whether the DOM must
//! re-render; the only effects here are repainting a paused canvas and
//! publishing the reproduction string for the panic banner.

use super::frame::now_ms;
use super::{App, Msg, Tab};
use crate::engine::Command;
use crate::scenario;
use crate::ui::params::Params;
use crate::ui::sim::Sim;
use crate::ui::views;
use yew::prelude::*;

/// Step by hop gives up after this many engine events (a message that has
/// finished has no next hop).
const STEP_HOP_EVENTS_MAX: u64 = 200_000;

impl App {
    /// Route a message to its handler.
    pub(super) fn handle(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        if App::touches_link(&msg) {
            self.share.address.touch(now_ms());
        }
        match msg {
            Msg::Frame(ts) => self.on_frame(ctx, ts),
            Msg::TogglePlay => self.toggle_play(),
            Msg::Step => self.step(),
            Msg::Speed(v) => self.set_speed(v),
            Msg::SeedText(s) => self.seed_text(s),
            Msg::Restart(new_seed) => self.restart(new_seed),
            Msg::Preset(name) => self.preset(name),
            Msg::Seek(t) => self.seek(t),
            Msg::Down(x, y) => self.pointer_down(x, y),
            Msg::Move(x, y) => self.pointer_move(x, y),
            Msg::Up => self.pointer_up(),
            Msg::SelectNode(i) => self.select_node(i),
            Msg::SelectMessage(m) => self.select_message(m),
            Msg::Cmd(c) => self.command(c),
            Msg::Knob(Ok(c)) => self.command(Some(c)),
            Msg::Knob(Err(e)) => {
                self.command_error = Some(e);
                true
            }
            Msg::LogScroll(top, at_bottom) => self.log_scroll(top, at_bottom),
            Msg::FilterNode(v) => self.filter_node(v),
            Msg::FilterKind(v) => self.filter_kind(v),
            Msg::FilterMessage(v) => self.filter_message(v),
            Msg::EditorText(t) => self.editor_text(t),
            Msg::EditorApply => self.editor_apply(),
            Msg::EditorRevert => self.editor_revert(),
            Msg::EditorRoom => {
                self.editor_room = !self.editor_room;
                // "Show charts" shows them, also when they were folded (a
                // short window starts that way, `params::FOLD_CHARTS_BELOW_PX`).
                if !self.editor_room {
                    self.bottom_hidden = false;
                }
                self.charts_dirty = true;
                true
            }
            Msg::Tab(t) => self.tab(t),
            Msg::ToggleTheme => self.toggle_theme(),
            Msg::TogglePanel(which) => self.toggle_panel(which),
            Msg::TogglePresenter => self.set_presenter(!self.presenter),
            Msg::ExitPresenter => self.presenter && self.set_presenter(false),
            Msg::BigChart(k) => self.big_chart(k),
            Msg::Zoom(f, at) => self.zoom_by(f, at),
            Msg::Pan(dx, dy) => self.pan_by(dx, dy),
            Msg::ResetView => self.reset_view(),
            Msg::CopyLink => self.copy_link(),
            Msg::Export(kind) if kind == "gif" => self.gif_msg(ctx, super::animation::GifMsg::Open),
            Msg::Export(kind) => self.export(&kind),
            Msg::Gif(m) => self.gif_msg(ctx, m),
            Msg::Sweep(m) => self.sweep_msg(ctx, m),
            Msg::Lesson(m) => self.lesson_msg(m),
            Msg::CloseShare => self.close_dialog(),
            Msg::Extend => self.extend_run(),
            Msg::CloseSummary => self.close_summary(),
            Msg::CloseVariantsHint => {
                self.share.variants_hint_closed = true;
                true
            }
            Msg::Embed(m) => self.on_embed(m),
            Msg::Visible(v) => self.visible(v),
            Msg::Build(m) => self.on_build(m),
            Msg::ToggleLedger => {
                self.ledger_open = Some(!self.ledger_shown());
                true
            }
            Msg::ToggleCompare => self.toggle_compare(),
            Msg::LedgerWhy => self.ledger_why(),
            Msg::Leave => self.builder_leave() || self.pointer_up(),
            Msg::Noop => {
                if Params::from_location().panic_test {
                    panic!("panic_test=1: a deliberate panic to show the crash banner");
                }
                false
            }
        }
    }

    // ── playback and timeline ──

    /// Play or pause; pausing settles the engine on a consistent snapshot.
    pub(super) fn toggle_play(&mut self) -> bool {
        self.playing = !self.playing;
        if !self.playing {
            self.sim.settle();
            self.snap = self.sim.engine.snapshot();
        }
        self.charts_dirty = true;
        true
    }

    /// Pause and process exactly one engine event, or, with a message
    /// selected, every event up to that message's next hop.
    pub(super) fn step(&mut self) -> bool {
        if self.playing {
            self.playing = false;
        }
        let evs = match self.sel_msg {
            Some(id) => self.sim.step_message(id, STEP_HOP_EVENTS_MAX),
            None => self.sim.step(),
        };
        self.ingest(&evs);
        self.snap = self.sim.engine.snapshot();
        self.charts_dirty = true;
        true
    }

    /// The speed slider gives log10 of the speed.
    pub(super) fn set_speed(&mut self, v: f64) -> bool {
        self.speed = 10f64.powf(v).clamp(views::SPEED_MIN, views::SPEED_MAX);
        // Snap near round values so the label reads well.
        for r in [
            0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0,
        ] {
            if (self.speed / r - 1.0).abs() < 0.06 {
                self.speed = r;
            }
        }
        true
    }

    /// The seed field as typed (applied on restart).
    pub(super) fn seed_text(&mut self, s: String) -> bool {
        self.seed_text = s;
        true
    }

    /// Restart from t = 0 with the typed seed, or a new random one.
    pub(super) fn restart(&mut self, new_seed: bool) -> bool {
        let seed = if new_seed {
            let r = (js_sys::Math::random() * 1_000_000.0) as u64;
            r.max(1)
        } else {
            self.seed_text.trim().parse().unwrap_or(self.sim.seed)
        };
        match Sim::new(self.sim.scenario.clone(), seed) {
            Ok(sim) => {
                let keep = self.sel_node;
                self.restart_with(sim);
                self.sel_node = keep;
            }
            Err(e) => self.command_error = Some(e.to_string()),
        }
        true
    }

    /// Load a built-in preset.
    pub(super) fn preset(&mut self, name: String) -> bool {
        // Choosing a preset leaves the lesson (its steps run their own presets).
        self.lesson = None;
        let (sim, preset, json) = App::load_preset(&name, None);
        self.builder.push(self.sim.scenario.clone());
        self.preset = preset;
        self.editor_text = json;
        self.editor_dirty = false;
        self.editor_errors.clear();
        self.editor_note = None;
        self.restart_with(sim);
        true
    }

    /// Move the timeline to `t` µs (rewinds by replaying).
    pub(super) fn seek(&mut self, t: u64) -> bool {
        self.sim.seek(t);
        self.lanes_follow_seek();
        self.tokens.clear();
        self.snap = self.sim.engine.snapshot();
        self.charts_dirty = true;
        self.log_follow = true;
        true
    }

    // ── selection and commands ──

    /// Select a node (or none) for the inspector.
    pub(super) fn select_node(&mut self, i: Option<usize>) -> bool {
        self.sel_node = i;
        self.sel_msg = None;
        self.tab = Tab::Inspect;
        if !self.playing {
            self.paint(now_ms());
        }
        true
    }

    /// Follow a message (or stop following).
    pub(super) fn select_message(&mut self, m: Option<u64>) -> bool {
        self.sel_msg = m;
        self.tab = Tab::Inspect;
        self.show_side = true;
        self.side_hidden = false;
        if !self.playing {
            self.paint(now_ms());
        }
        true
    }

    /// Submit a command from a knob; None means the field did not parse.
    pub(super) fn command(&mut self, c: Option<Command>) -> bool {
        match c {
            Some(c) => {
                self.submit(c);
                if !self.playing {
                    self.paint(now_ms());
                }
                true
            }
            None => {
                self.command_error = Some("that value is not a number".into());
                true
            }
        }
    }

    // ── event log ──

    /// The log view scrolled; it follows new events while at the bottom.
    pub(super) fn log_scroll(&mut self, top: f64, at_bottom: bool) -> bool {
        self.log_scroll = top;
        self.log_follow = at_bottom;
        true
    }

    /// Filter the log by node index ("" for all).
    pub(super) fn filter_node(&mut self, v: String) -> bool {
        self.filter_node = v.parse().ok();
        self.log_follow = true;
        true
    }

    /// Filter the log by trace kind ("" for all).
    pub(super) fn filter_kind(&mut self, v: String) -> bool {
        self.filter_kind = v;
        self.log_follow = true;
        true
    }

    /// Filter the log by message id.
    pub(super) fn filter_message(&mut self, v: String) -> bool {
        self.filter_msg = v;
        self.log_follow = true;
        true
    }

    // ── scenario editor ──

    /// The JSON text as typed.
    pub(super) fn editor_text(&mut self, t: String) -> bool {
        self.editor_text = t;
        self.editor_dirty = true;
        self.editor_note = None;
        true
    }

    /// Validate the JSON and restart with it, or list its problems.
    pub(super) fn editor_apply(&mut self) -> bool {
        match scenario::load(&self.editor_text) {
            Ok(sc) => {
                let seed = sc.seed;
                match Sim::new(sc, seed) {
                    Ok(sim) => {
                        self.builder.push(self.sim.scenario.clone());
                        self.editor_errors.clear();
                        self.editor_dirty = false;
                        self.editor_note =
                            Some("Applied: the simulation restarted with this scenario.".into());
                        self.preset = String::new();
                        self.restart_with(sim);
                    }
                    Err(e) => {
                        self.editor_errors = e.issues;
                        self.editor_jump = true;
                    }
                }
            }
            Err(e) => {
                self.editor_errors = e.issues;
                self.editor_note = None;
                self.editor_jump = true;
            }
        }
        true
    }

    /// Show the running scenario in the editor.
    pub(super) fn editor_revert(&mut self) -> bool {
        self.editor_text = crate::scenario::to_pretty_json(&self.sim.scenario);
        self.editor_dirty = false;
        self.editor_errors.clear();
        self.editor_note = None;
        true
    }

    // ── panels and theme ──

    /// Switch the side panel tab.
    pub(super) fn tab(&mut self, t: Tab) -> bool {
        self.tab = t;
        if t == Tab::Sweep {
            self.sweep_fill();
        }
        true
    }

    /// Light / dark theme.
    pub(super) fn toggle_theme(&mut self) -> bool {
        self.dark = !self.dark;
        crate::ui::set_theme_class(self.dark);
        self.charts_dirty = true;
        if !self.playing {
            self.paint(now_ms());
        }
        true
    }

    /// 0: side panel (narrow screens), 1: charts and log (narrow), 2: fold the side panel.
    pub(super) fn toggle_panel(&mut self, which: u8) -> bool {
        if which == 2 {
            self.side_hidden = !self.side_hidden;
            self.layout = self.compute_layout();
        } else if which == 3 {
            self.bottom_hidden = !self.bottom_hidden;
        } else if which == 0 {
            self.show_side = !self.show_side;
        } else {
            self.show_bottom = !self.show_bottom;
        }
        self.charts_dirty = true;
        true
    }

    /// Presenter mode: panels fold, type grows (a new layout in the
    /// presenter style), the view refits.
    pub(super) fn set_presenter(&mut self, on: bool) -> bool {
        self.presenter = on;
        if !on {
            self.big_chart = None;
        }
        self.zoom = 1.0;
        self.pan = (0.0, 0.0);
        self.layout = self.compute_layout();
        self.charts_dirty = true;
        true
    }

    /// Presenter mode: one chart large beside the picture, or none.
    pub(super) fn big_chart(&mut self, k: Option<usize>) -> bool {
        self.big_chart = k.filter(|&k| k < self.charts.len());
        self.charts_dirty = true;
        true
    }

    // ── pan and zoom (on top of the fitted view) ──

    /// Zoom by `f` keeping the canvas point `at` (default: the centre) still.
    pub(super) fn zoom_by(&mut self, f: f64, at: Option<(f64, f64)>) -> bool {
        let (cx, cy) = at.unwrap_or_else(|| self.canvas_center());
        let z = (self.zoom * f).clamp(0.25, 8.0);
        let f = z / self.zoom;
        self.zoom = z;
        // screen = fitted × zoom + pan; keep (cx, cy) fixed.
        self.pan = (cx - (cx - self.pan.0) * f, cy - (cy - self.pan.1) * f);
        self.repaint_if_paused();
        true
    }

    pub(super) fn pan_by(&mut self, dx: f64, dy: f64) -> bool {
        self.pan = (self.pan.0 + dx, self.pan.1 + dy);
        self.repaint_if_paused();
        true
    }

    pub(super) fn reset_view(&mut self) -> bool {
        self.zoom = 1.0;
        self.pan = (0.0, 0.0);
        self.repaint_if_paused();
        true
    }

    fn repaint_if_paused(&mut self) {
        if !self.playing {
            self.paint(now_ms());
        }
    }
}
