//! The topology builder: drop parts from the palette onto the canvas, drag
//! from a node's connect handle to another node, edit fields in the
//! inspector, delete, undo and redo. Every edit is a pure function of the
//! scenario (`scenario::edit`); the app then restarts the simulation with the
//! new scenario, so the canvas, the inspector and the JSON editor are all
//! projections of one `Scenario` value.
//!
//!   palette ──drop──► edit::add ─┐
//!   handle ──drag──► edit::connect├─► commit(next) ──► undo stack ──► Sim::new ──► canvas, editor
//!   inspector ──► edit::set_field ┘        ▲
//!   Ctrl+Z / Ctrl+Shift+Z ─────────────────┘ (whole scenarios, at most UNDO_MAX)
//!
//! Handlers change state only; the one effect is repainting a paused canvas
//! (the drag ghost and the connect line are drawn over the picture here).

use super::frame::now_ms;
use super::{App, Tab};
use crate::scenario::edit::{self, Part};
use crate::scenario::{Scenario, ScenarioIssue};
use crate::ui::sim::Sim;
use serde_json::Value;

/// Scenarios kept for undo (and for redo).
pub const UNDO_MAX: usize = 100;

/// Connect handle radius [CSS px]; the hit area is a little larger.
pub const HANDLE_R: f64 = 7.0;
const HANDLE_HIT: f64 = 11.0;

/// How a field's text becomes a JSON value (the JSON editor's parser then
/// checks it, so its errors are the editor's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    /// A string; surrounding blanks dropped.
    Str,
    /// A string, or nothing (the field's default) when empty.
    OptStr,
    /// A number; other text goes to the parser as a string, which names the type error.
    Num,
    /// A number, or nothing when empty.
    OptNum,
    /// JSON text (objects, lists), or nothing when empty.
    Json,
    /// One of a select's values: JSON if it starts with `{`, else a string.
    Choice,
}

impl FieldType {
    /// The JSON value for `text`, or the problem with it.
    pub fn value(self, text: &str) -> Result<Value, String> {
        let t = text.trim();
        let empty = t.is_empty();
        Ok(match self {
            FieldType::Str => Value::String(t.to_string()),
            FieldType::OptStr | FieldType::OptNum | FieldType::Json if empty => Value::Null,
            FieldType::OptStr => Value::String(t.to_string()),
            FieldType::Num | FieldType::OptNum => {
                match serde_json::from_slice::<Value>(t.as_bytes()) {
                    Ok(v @ Value::Number(_)) => v,
                    _ => Value::String(t.to_string()),
                }
            }
            FieldType::Json => {
                serde_json::from_slice(t.as_bytes()).map_err(|e| format!("not JSON: {e}"))?
            }
            FieldType::Choice if t.starts_with('{') => {
                serde_json::from_slice(t.as_bytes()).map_err(|e| format!("not JSON: {e}"))?
            }
            FieldType::Choice => Value::String(t.to_string()),
        })
    }
}

/// Builder messages (one `Msg::Build` variant carries them).
pub enum BuildMsg {
    /// Builder mode on/off (button, `b`).
    Toggle,
    /// Start from an empty canvas.
    New,
    /// A palette item pressed: a drag starts.
    PaletteDown(Part),
    /// A palette item clicked (no drag): add the part where the layout puts it.
    PaletteClick(Part),
    /// The pointer was released anywhere: end any drag that did not land.
    Released,
    Undo,
    Redo,
    /// Delete the selected node (button).
    Delete,
    /// The Delete key: deletes the selected node in builder mode.
    DeleteKey,
    /// Set a field of the scenario: JSON path, typed text, how to read it.
    Field(String, String, FieldType),
    /// Remove binding `j` of the exchange with this id.
    Unbind(String, usize),
}

#[derive(Default)]
pub struct Builder {
    /// Palette and connect handles shown.
    pub on: bool,
    undo: Vec<Scenario>,
    redo: Vec<Scenario>,
    /// A part dragged from the palette.
    pub palette_drag: Option<Part>,
    /// A connection being dragged from this node index.
    pub connect: Option<usize>,
    /// Last pointer position over the canvas during a drag [CSS px].
    pub pointer: Option<(f64, f64)>,
    /// What the last edit did.
    pub note: Option<String>,
    /// Why the last edit was refused, with the field's path when it has one.
    pub error: Option<ScenarioIssue>,
}

impl Builder {
    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }
    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }
    /// Remember `sc` before a change; a new change forgets what was undone.
    pub fn push(&mut self, sc: Scenario) {
        self.undo.push(sc);
        if self.undo.len() > UNDO_MAX {
            self.undo.remove(0);
        }
        self.redo.clear();
    }
    fn refused(&mut self, path: &str, message: impl Into<String>) {
        self.note = None;
        self.error = Some(ScenarioIssue {
            path: path.to_string(),
            message: message.into(),
        });
    }
}

impl App {
    pub(super) fn on_build(&mut self, msg: BuildMsg) -> bool {
        match msg {
            BuildMsg::Toggle => {
                self.builder.on = !self.builder.on;
                self.builder.palette_drag = None;
                self.builder.connect = None;
                if self.builder.on {
                    self.tab = Tab::Inspect;
                    self.side_hidden = false;
                }
                self.layout = self.compute_layout();
                self.repaint_now();
                true
            }
            BuildMsg::New => {
                self.builder.on = true;
                self.commit(
                    edit::empty(),
                    "New empty scenario: drag parts from the palette onto the canvas.".into(),
                    None,
                );
                true
            }
            BuildMsg::PaletteDown(p) => {
                self.builder.palette_drag = Some(p);
                self.builder.pointer = None;
                false
            }
            BuildMsg::PaletteClick(p) => {
                self.builder.palette_drag = None;
                self.add_part(p, None);
                true
            }
            BuildMsg::Released => {
                let busy = self.builder.palette_drag.is_some() || self.builder.connect.is_some();
                self.builder.palette_drag = None;
                self.builder.connect = None;
                self.builder.pointer = None;
                if busy {
                    self.repaint_now();
                }
                busy
            }
            BuildMsg::Undo => self.undo(),
            BuildMsg::Redo => self.redo(),
            BuildMsg::Delete => self.delete_selected(),
            BuildMsg::DeleteKey => {
                self.builder.on && self.sel_node.is_some() && self.delete_selected()
            }
            BuildMsg::Field(path, text, ty) => {
                match ty.value(&text) {
                    Err(e) => self.builder.refused(&path, e),
                    Ok(v) => {
                        let mut next = self.sim.scenario.clone();
                        match edit::set_field(&mut next, &path, v) {
                            Ok(()) => {
                                let keep = self.selected_id().map(|id| {
                                    // A renamed node stays selected under its new name.
                                    if path.ends_with(".id") {
                                        text.trim().to_string()
                                    } else {
                                        id
                                    }
                                });
                                self.commit(next, format!("Set {path}."), keep);
                            }
                            Err(e) => {
                                let i = edit::first_issue(&e);
                                self.builder.refused(&i.path, i.message);
                            }
                        }
                    }
                }
                true
            }
            BuildMsg::Unbind(x, j) => {
                let mut next = self.sim.scenario.clone();
                if let Some(ex) = next.exchanges.iter_mut().find(|e| e.id == x) {
                    if j < ex.bindings.len() {
                        ex.bindings.remove(j);
                        let keep = self.selected_id();
                        self.commit(next, format!("Removed binding {j} of {x}."), keep);
                    }
                }
                true
            }
        }
    }

    /// The id of the selected node, if any.
    pub(super) fn selected_id(&self) -> Option<String> {
        self.sel_node
            .and_then(|i| self.layout.nodes.get(i))
            .map(|n| n.id.clone())
    }

    /// Make `next` the scenario: remember the current one for undo, restart
    /// the simulation with it (same seed), select `select` if given.
    fn commit(&mut self, next: Scenario, note: String, select: Option<String>) {
        let before = self.sim.scenario.clone();
        if self.load_scenario(next, select) {
            self.builder.push(before);
            self.builder.note = Some(note);
            self.builder.error = None;
        }
    }

    /// Restart with `sc`; false (and the error shown) if the engine refuses it.
    fn load_scenario(&mut self, sc: Scenario, select: Option<String>) -> bool {
        let seed = self.sim.seed;
        match Sim::new(sc, seed) {
            Ok(sim) => {
                self.preset = String::new();
                self.restart_with(sim);
                self.sel_node =
                    select.and_then(|id| self.layout.nodes.iter().position(|n| n.id == id));
                if self.sel_node.is_some() {
                    self.tab = Tab::Inspect;
                }
                let json = crate::scenario::to_pretty_json(&self.sim.scenario);
                if self.editor_dirty {
                    self.editor_note = Some(
                        "The builder changed the scenario; your unapplied edits are kept here (Show running scenario loads the new one).".into(),
                    );
                } else {
                    self.editor_text = json;
                    self.editor_errors.clear();
                }
                self.repaint_now();
                true
            }
            Err(e) => {
                let i = edit::first_issue(&e);
                self.builder.refused(&i.path, i.message);
                false
            }
        }
    }

    fn undo(&mut self) -> bool {
        let Some(prev) = self.builder.undo.pop() else {
            return false;
        };
        let now = self.sim.scenario.clone();
        let keep = self.selected_id();
        if self.load_scenario(prev, keep) {
            self.builder.redo.push(now);
            self.builder.note = Some("Undone.".into());
            self.builder.error = None;
        }
        true
    }

    fn redo(&mut self) -> bool {
        let Some(next) = self.builder.redo.pop() else {
            return false;
        };
        let now = self.sim.scenario.clone();
        let keep = self.selected_id();
        if self.load_scenario(next, keep) {
            self.builder.undo.push(now);
            self.builder.note = Some("Redone.".into());
            self.builder.error = None;
        }
        true
    }

    fn delete_selected(&mut self) -> bool {
        let Some(id) = self.selected_id() else {
            self.builder.refused("", "select a node to delete");
            return true;
        };
        let mut next = self.sim.scenario.clone();
        match edit::delete(&mut next, &id) {
            Ok(gone) => {
                let note = if gone.len() == 1 {
                    format!("Deleted {id}.")
                } else {
                    format!(
                        "Deleted {id}, and {} (they cannot exist without it).",
                        gone[1..].join(", ")
                    )
                };
                self.commit(next, note, None);
            }
            Err(e) => self.builder.refused("", e),
        }
        true
    }

    /// Add a part; `at` is the drop point in canvas px (None: a click).
    fn add_part(&mut self, p: Part, at: Option<(f64, f64)>) {
        let near: Vec<String> = match at {
            Some((x, y)) => {
                let (lx, ly) = self.view.inv(x, y);
                let mut by: Vec<(f64, &str)> = self
                    .layout
                    .nodes
                    .iter()
                    .map(|n| ((n.x - lx).hypot(n.y - ly), n.id.as_str()))
                    .collect();
                crate::small_sort::sort_by(&mut by, |a, b| a.0.total_cmp(&b.0));
                by.into_iter().map(|(_, id)| id.to_string()).collect()
            }
            None => self.selected_id().into_iter().collect(),
        };
        let mut next = self.sim.scenario.clone();
        match edit::add(&mut next, p, &near) {
            Ok(id) => {
                self.show_side = true;
                self.commit(
                    next,
                    format!("Added {id}: name it and set its fields below."),
                    Some(id),
                );
            }
            Err(e) => self.builder.refused("", e),
        }
    }

    /// The node under canvas point (x, y).
    fn node_at(&self, x: f64, y: f64) -> Option<usize> {
        let (lx, ly) = self.view.inv(x, y);
        self.layout
            .nodes
            .iter()
            .position(|n| (lx - n.x).abs() <= n.w / 2.0 && (ly - n.y).abs() <= n.h / 2.0)
    }

    /// Canvas position of node `i`'s connect handle (middle of its right edge).
    pub(super) fn handle_pos(&self, i: usize) -> Option<(f64, f64)> {
        let n = self.layout.nodes.get(i)?;
        Some(self.view.pt((n.x + n.w / 2.0, n.y)))
    }

    /// Connect handles as `id:x,y;…` for tests and tools ("" when off).
    pub(super) fn handle_positions(&self) -> String {
        if !self.builder.on {
            return String::new();
        }
        (0..self.layout.nodes.len())
            .filter_map(|i| {
                let (x, y) = self.handle_pos(i)?;
                Some(format!("{}:{x:.0},{y:.0}", self.layout.nodes[i].id))
            })
            .collect::<Vec<_>>()
            .join(";")
    }

    /// Pointer down: a connect handle starts a connection (builder mode).
    pub(super) fn builder_down(&mut self, x: f64, y: f64) -> bool {
        if !self.builder.on {
            return false;
        }
        let hit = (0..self.layout.nodes.len()).find(|&i| {
            self.handle_pos(i)
                .is_some_and(|(hx, hy)| (hx - x).hypot(hy - y) <= HANDLE_HIT)
        });
        if let Some(i) = hit {
            self.builder.connect = Some(i);
            self.builder.pointer = Some((x, y));
            self.repaint_now();
            return true;
        }
        false
    }

    /// Pointer moved over the canvas during a palette drag or a connection.
    pub(super) fn builder_move(&mut self, x: f64, y: f64) -> bool {
        if self.builder.palette_drag.is_none() && self.builder.connect.is_none() {
            return false;
        }
        self.builder.pointer = Some((x, y));
        self.repaint_now();
        true
    }

    /// Pointer released over the canvas: drop the part, or make the link.
    pub(super) fn builder_up(&mut self) -> bool {
        let at = self.builder.pointer.take();
        if let Some(p) = self.builder.palette_drag.take() {
            if let Some(at) = at {
                self.add_part(p, Some(at));
            }
            return true;
        }
        if let Some(from) = self.builder.connect.take() {
            let target = at.and_then(|(x, y)| self.node_at(x, y));
            match target {
                Some(to) if to != from => {
                    let (a, b) = (
                        self.layout.nodes[from].id.clone(),
                        self.layout.nodes[to].id.clone(),
                    );
                    let mut next = self.sim.scenario.clone();
                    match edit::connect(&mut next, &a, &b) {
                        Ok(what) => {
                            // Bindings are edited on the exchange: select it.
                            let sel = if edit::find(&next, &a).map(|f| f.0) == Some(Part::Exchange)
                            {
                                a.clone()
                            } else {
                                b.clone()
                            };
                            self.commit(next, format!("Linked: {what}."), Some(sel));
                        }
                        Err(e) => self.builder.refused("", e),
                    }
                }
                _ => {
                    self.builder.note = Some("Release over another node to connect.".into());
                }
            }
            self.repaint_now();
            return true;
        }
        false
    }

    /// Pointer left the canvas: a drag in progress waits for it to return.
    pub(super) fn builder_leave(&mut self) -> bool {
        if self.builder.palette_drag.is_some() || self.builder.connect.is_some() {
            self.builder.pointer = None;
            self.repaint_now();
            return true;
        }
        false
    }

    pub(super) fn repaint_now(&mut self) {
        if !self.playing {
            self.paint(now_ms());
        }
    }

    /// Draw the builder's marks over the picture: connect handles, the
    /// connection being dragged, the part being dropped, and a hint on an
    /// empty canvas.
    pub(super) fn paint_builder(&self, w: f64, h: f64) {
        let Some(ctx) = self.ctx2d.as_ref() else {
            return;
        };
        if !self.builder.on && !self.layout.nodes.is_empty() {
            return;
        }
        let accent = if self.dark { "#60a5fa" } else { "#2563eb" };
        let text = if self.dark { "#e2e8f0" } else { "#0f172a" };
        let muted = if self.dark { "#94a3b8" } else { "#475569" };
        ctx.save();
        if self.layout.nodes.is_empty() {
            ctx.set_fill_style_str(muted);
            ctx.set_text_align("center");
            ctx.set_text_baseline("middle");
            ctx.set_font("600 18px system-ui, sans-serif");
            let _ = ctx.fill_text("Empty canvas", w / 2.0, h / 2.0 - 16.0);
            ctx.set_font("15px system-ui, sans-serif");
            let hint = if self.builder.on {
                "Drag an exchange or a queue from the palette and drop it here"
            } else {
                "Open the builder (Build, or b) to add parts"
            };
            let _ = ctx.fill_text(hint, w / 2.0, h / 2.0 + 12.0);
        }
        if self.builder.on {
            let target = self
                .builder
                .pointer
                .filter(|_| self.builder.connect.is_some())
                .and_then(|(x, y)| self.node_at(x, y));
            for i in 0..self.layout.nodes.len() {
                if let Some(t) = target.filter(|&t| t == i && Some(t) != self.builder.connect) {
                    let r = self.view.rect(&self.layout.nodes[t].rect());
                    ctx.set_stroke_style_str(accent);
                    ctx.set_line_width(3.0);
                    ctx.stroke_rect(r.x0 - 3.0, r.y0 - 3.0, r.w() + 6.0, r.h() + 6.0);
                }
                let Some((x, y)) = self.handle_pos(i) else {
                    continue;
                };
                ctx.begin_path();
                let _ = ctx.arc(x, y, HANDLE_R, 0.0, std::f64::consts::TAU);
                ctx.set_fill_style_str(accent);
                ctx.fill();
                ctx.set_stroke_style_str("#ffffff");
                ctx.set_line_width(1.5);
                ctx.stroke();
                // A small "+" says "drag from here".
                ctx.begin_path();
                ctx.move_to(x - 3.5, y);
                ctx.line_to(x + 3.5, y);
                ctx.move_to(x, y - 3.5);
                ctx.line_to(x, y + 3.5);
                ctx.stroke();
            }
            if let (Some(from), Some((px, py))) = (self.builder.connect, self.builder.pointer) {
                if let Some((x, y)) = self.handle_pos(from) {
                    ctx.set_stroke_style_str(accent);
                    ctx.set_line_width(2.5);
                    let _ = ctx.set_line_dash(&js_sys::Array::of2(&6.0.into(), &4.0.into()));
                    ctx.begin_path();
                    ctx.move_to(x, y);
                    ctx.line_to(px, py);
                    ctx.stroke();
                    let _ = ctx.set_line_dash(&js_sys::Array::new());
                    let a = (py - y).atan2(px - x);
                    ctx.begin_path();
                    ctx.move_to(px, py);
                    ctx.line_to(px - 11.0 * (a - 0.45).cos(), py - 11.0 * (a - 0.45).sin());
                    ctx.line_to(px - 11.0 * (a + 0.45).cos(), py - 11.0 * (a + 0.45).sin());
                    ctx.close_path();
                    ctx.set_fill_style_str(accent);
                    ctx.fill();
                }
            }
            if let (Some(p), Some((x, y))) = (self.builder.palette_drag, self.builder.pointer) {
                let (bw, bh) = (120.0, 44.0);
                ctx.set_global_alpha(0.85);
                ctx.set_fill_style_str(if self.dark { "#131d33" } else { "#ffffff" });
                ctx.fill_rect(x - bw / 2.0, y - bh / 2.0, bw, bh);
                ctx.set_global_alpha(1.0);
                ctx.set_stroke_style_str(accent);
                ctx.set_line_width(2.0);
                let _ = ctx.set_line_dash(&js_sys::Array::of2(&5.0.into(), &3.0.into()));
                ctx.stroke_rect(x - bw / 2.0, y - bh / 2.0, bw, bh);
                let _ = ctx.set_line_dash(&js_sys::Array::new());
                ctx.set_fill_style_str(text);
                ctx.set_text_align("center");
                ctx.set_text_baseline("middle");
                ctx.set_font("600 14px system-ui, sans-serif");
                let _ = ctx.fill_text(&format!("+ {}", p.name()), x, y);
            }
        }
        ctx.restore();
    }
}
