//! Pointer input on the topology canvas: pick a message (in a stack, on a
//! consumer or in flight) or a node, drag nodes to new places (kept in
//! the scenario's `layout`, so the editor and reproduction carry them), and
//! drag the background to pan. A click on the background (no drag) clears
//! the selection.

use super::frame::now_ms;
use super::{App, Tab};

impl App {
    /// Pointer pressed at canvas CSS pixel (x, y).
    pub(super) fn pointer_down(&mut self, x: f64, y: f64) -> bool {
        // Builder mode: a node's connect handle starts a connection.
        if self.builder_down(x, y) {
            return true;
        }
        // Messages drawn in stacks and consumers first, then nodes, then tokens.
        if let Some(h) = self
            .hits
            .iter()
            .find(|h| (h.x - x).abs() <= h.r && (h.y - y).abs() <= h.r)
        {
            self.sel_msg = Some(h.msg);
            self.tab = Tab::Inspect;
            self.show_side = true;
            self.side_hidden = false;
            return true;
        }
        let (lx, ly) = self.view.inv(x, y);
        if let Some(i) = self
            .layout
            .nodes
            .iter()
            .position(|n| (lx - n.x).abs() <= n.w / 2.0 && (ly - n.y).abs() <= n.h / 2.0)
        {
            let n = &self.layout.nodes[i];
            self.drag = Some((i, lx - n.x, ly - n.y, false));
            self.sel_node = Some(i);
            self.sel_msg = None;
            self.tab = Tab::Inspect;
            self.show_side = true;
            self.side_hidden = false;
            return true;
        }
        let now = now_ms();
        let size = 10.0;
        let found = self
            .tokens
            .tokens
            .iter()
            .filter(|t| t.t0 <= now && t.msg != 0)
            .find(|t| {
                let (a, b) = (t.from as usize, t.to as usize);
                if a >= self.layout.nodes.len() || b >= self.layout.nodes.len() {
                    return false;
                }
                let r = self.layout.route(a, b, self.layout.edge_kind(a, b));
                let u = ((now - t.t0) / t.dur).clamp(0.0, 1.0);
                let (px, py) = self
                    .view
                    .pt(crate::ui::layout::bezier(&r, u * u * (3.0 - 2.0 * u)));
                (px - x).abs() < size && (py - y).abs() < size
            });
        if let Some(t) = found {
            self.sel_msg = Some(t.msg);
            self.tab = Tab::Inspect;
            self.show_side = true;
            self.side_hidden = false;
        } else {
            // Background: pan on drag, clear the selection on a click.
            self.panning = Some((x, y, false));
        }
        true
    }

    /// Pointer moved: drag the picked node, or pan.
    pub(super) fn pointer_move(&mut self, x: f64, y: f64) -> bool {
        if self.builder_move(x, y) {
            return false;
        }
        if let Some((px, py, moved)) = self.panning {
            let (dx, dy) = (x - px, y - py);
            if moved || dx.abs() + dy.abs() > 3.0 {
                self.panning = Some((x, y, true));
                return self.pan_by(dx, dy);
            }
            return false;
        }
        if let Some((i, dx, dy, _)) = self.drag {
            let (lx, ly) = self.view.inv(x, y);
            let (nx, ny) = ((lx - dx).round(), (ly - dy).round());
            if let Some(n) = self.layout.nodes.get_mut(i) {
                if (n.x - nx).abs() + (n.y - ny).abs() > 0.5 {
                    n.x = nx;
                    n.y = ny;
                    self.layout.place_labels();
                    self.drag = Some((i, dx, dy, true));
                    if !self.playing {
                        self.paint(now_ms());
                    }
                }
            }
        }
        false
    }

    /// Pointer released or left: a moved node keeps its place in the scenario.
    pub(super) fn pointer_up(&mut self) -> bool {
        // A palette drop or a connection ends here.
        if self.builder_up() {
            return true;
        }
        if let Some((_, _, moved)) = self.panning.take() {
            if !moved {
                self.sel_node = None;
                self.sel_msg = None;
            }
            return true;
        }
        if let Some((i, _, _, moved)) = self.drag.take() {
            if moved {
                let n = &self.layout.nodes[i];
                self.sim.scenario.layout.insert(n.id.clone(), [n.x, n.y]);
                if !self.editor_dirty {
                    self.editor_text = crate::scenario::to_pretty_json(&self.sim.scenario);
                }
                crate::ui::set_reproduction(&self.sim.reproduction());
            }
            if !self.playing {
                self.paint(now_ms());
            }
        }
        true
    }
}
