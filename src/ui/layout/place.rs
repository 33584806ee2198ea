//! Where each label goes: on its own edge, clear of every node box, of the
//! dead-letter band's caption and of the labels placed before it.
//!
//!   for each labelled edge (flow first, then dead-letter, retry, …):
//!     try points along the curve, middle first, then nudged off the curve
//!     take the first box that touches nothing ──► LabelBox
//!     (none free: the least-overlapping one, which the tests then catch)
//!
//! The result is also what the app exposes as `data-boxes`, so a browser
//! test can check the same boxes the canvas draws.

use super::text::text_w;
use super::{bezier, EdgeKind, Layout};

/// An axis-aligned box [layout units or CSS pixels].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Rect {
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
}

impl Rect {
    pub fn centered(cx: f64, cy: f64, w: f64, h: f64) -> Rect {
        Rect {
            x0: cx - w / 2.0,
            y0: cy - h / 2.0,
            x1: cx + w / 2.0,
            y1: cy + h / 2.0,
        }
    }
    pub fn w(&self) -> f64 {
        self.x1 - self.x0
    }
    pub fn h(&self) -> f64 {
        self.y1 - self.y0
    }
    pub fn cx(&self) -> f64 {
        (self.x0 + self.x1) / 2.0
    }
    pub fn cy(&self) -> f64 {
        (self.y0 + self.y1) / 2.0
    }
    pub fn inflate(&self, m: f64) -> Rect {
        Rect {
            x0: self.x0 - m,
            y0: self.y0 - m,
            x1: self.x1 + m,
            y1: self.y1 + m,
        }
    }
    pub fn union(&self, o: &Rect) -> Rect {
        Rect {
            x0: self.x0.min(o.x0),
            y0: self.y0.min(o.y0),
            x1: self.x1.max(o.x1),
            y1: self.y1.max(o.y1),
        }
    }
    /// Area shared with `o` (0 when they only touch).
    pub fn overlap(&self, o: &Rect) -> f64 {
        let w = self.x1.min(o.x1) - self.x0.max(o.x0);
        let h = self.y1.min(o.y1) - self.y0.max(o.y0);
        if w > 0.0 && h > 0.0 {
            w * h
        } else {
            0.0
        }
    }
    pub fn overlaps(&self, o: &Rect) -> bool {
        self.overlap(o) > 0.0
    }
    /// Map through `f` (e.g. layout units to screen pixels).
    pub fn map(&self, f: impl Fn((f64, f64)) -> (f64, f64)) -> Rect {
        let (x0, y0) = f((self.x0, self.y0));
        let (x1, y1) = f((self.x1, self.y1));
        Rect { x0, y0, x1, y1 }
    }
}

/// A placed edge label.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelBox {
    /// Index into `Layout::edges`.
    pub edge: usize,
    pub rect: Rect,
}

/// One drawn box, for tests and tools: `kind` is "node", "label" or "band".
#[derive(Clone, Debug, PartialEq)]
pub struct DrawnBox {
    pub kind: &'static str,
    pub id: String,
    pub rect: Rect,
}

/// Caption of the dead-letter band.
pub const BAND_CAPTION: &str = "DEAD-LETTER PATH";

/// Clearance around node boxes that labels keep [layout units].
const NODE_CLEAR: f64 = 4.0;
/// Clearance between two labels [layout units].
const LABEL_CLEAR: f64 = 3.0;

impl Layout {
    /// Size of the label box of edge `e` [layout units].
    pub fn label_size(&self, e: usize) -> (f64, f64) {
        let st = &self.style;
        let lines = &self.edges[e].label;
        let w = lines
            .iter()
            .map(|l| text_w(l, st.label_px, false))
            .fold(0.0, f64::max)
            + 12.0;
        let h = lines.len() as f64 * st.label_line_h() + 5.0;
        (w.round(), h.round())
    }

    /// Place the band caption and every edge label; see the module docs.
    pub fn place_labels(&mut self) {
        let st = self.style;
        let mut taken: Vec<Rect> = Vec::new();
        let nodes: Vec<Rect> = self
            .nodes
            .iter()
            .map(|n| n.rect().inflate(NODE_CLEAR))
            .collect();
        let free = |r: &Rect, taken: &[Rect]| {
            nodes.iter().all(|n| !n.overlaps(r))
                && taken.iter().all(|t| !t.inflate(LABEL_CLEAR).overlaps(r))
        };

        // The band caption sits in the strip above the band's first row,
        // as far left as it goes without touching a node.
        self.band_top = None;
        self.band_label = None;
        let band: Vec<Rect> = self
            .nodes
            .iter()
            .filter(|n| n.band == 1)
            .map(|n| n.rect())
            .collect();
        if !band.is_empty() {
            let top = band.iter().map(|r| r.y0).fold(f64::MAX, f64::min);
            let cap_h = st.small_px * 1.2;
            let cap_w = text_w(BAND_CAPTION, st.small_px, true) + 8.0;
            let band_top = top - cap_h - 12.0;
            self.band_top = Some(band_top);
            let x_min = self
                .nodes
                .iter()
                .map(|n| n.x - n.w / 2.0)
                .fold(f64::MAX, f64::min);
            let y = band_top + 4.0 + cap_h / 2.0;
            let mut x = x_min + cap_w / 2.0;
            let mut r = Rect::centered(x, y, cap_w, cap_h);
            for _ in 0..200 {
                if free(&r, &taken) {
                    break;
                }
                x += 10.0;
                r = Rect::centered(x, y, cap_w, cap_h);
            }
            taken.push(r);
            self.band_label = Some(r);
        }

        // Flow labels first (they carry the routing), then the rest.
        let mut order: Vec<usize> = (0..self.edges.len())
            .filter(|&i| !self.edges[i].label.is_empty())
            .collect();
        crate::small_sort::sort_by_key(&mut order, |&i| match self.edges[i].kind {
            EdgeKind::Flow => 0,
            EdgeKind::Alternate => 1,
            EdgeKind::DeadLetter => 2,
            EdgeKind::Retry | EdgeKind::Requeue => 3,
        });
        // Along the curve: the middle first, then outwards; bindings of a
        // fan-out prefer the target side, where their curves have spread.
        const TS: [f64; 19] = [
            0.5, 0.6, 0.4, 0.68, 0.32, 0.75, 0.25, 0.55, 0.45, 0.8, 0.2, 0.64, 0.36, 0.85, 0.15,
            0.9, 0.1, 0.72, 0.28,
        ];
        let mut labels = Vec::with_capacity(order.len());
        for ei in order {
            let e = &self.edges[ei];
            let (w, h) = self.label_size(ei);
            let r = self.route(e.from, e.to, Some(e.kind));
            let fan_out = self
                .edges
                .iter()
                .filter(|o| o.from == e.from && !o.label.is_empty())
                .count()
                > 1;
            let mut best: Option<(f64, Rect)> = None;
            'search: for off in [0.0, 1.0, -1.0, 2.0, -2.0, 3.0, -3.0, 4.5, -4.5, 6.0, -6.0] {
                for &t0 in &TS {
                    let t = if fan_out { 1.0 - (1.0 - t0) * 0.8 } else { t0 };
                    let (px, py) = bezier(&r, t);
                    // Nudge across the curve: the normal of its tangent.
                    let (qx, qy) = bezier(&r, (t + 0.01).min(1.0));
                    let (ox, oy) = bezier(&r, (t - 0.01).max(0.0));
                    let (tx, ty) = (qx - ox, qy - oy);
                    let len = (tx * tx + ty * ty).sqrt().max(1e-9);
                    let (nx, ny) = (-ty / len, tx / len);
                    let d = off * (h / 2.0 + 4.0).max(w.min(h) / 2.0);
                    let c = Rect::centered(px + nx * d, py + ny * d, w, h);
                    if free(&c, &taken) {
                        best = Some((0.0, c));
                        break 'search;
                    }
                    let cost: f64 = nodes.iter().map(|n| n.overlap(&c)).sum::<f64>()
                        + taken.iter().map(|t| t.overlap(&c)).sum::<f64>();
                    if best.is_none_or(|(b, _)| cost < b) {
                        best = Some((cost, c));
                    }
                }
            }
            if let Some((_, c)) = best {
                taken.push(c);
                labels.push(LabelBox { edge: ei, rect: c });
            }
        }
        self.labels = labels;
    }

    /// Every drawn box in layout units: nodes, edge labels, band caption.
    pub fn boxes(&self) -> Vec<DrawnBox> {
        let mut out: Vec<DrawnBox> = self
            .nodes
            .iter()
            .map(|n| DrawnBox {
                kind: "node",
                id: n.id.clone(),
                rect: n.rect(),
            })
            .collect();
        for l in &self.labels {
            let e = &self.edges[l.edge];
            out.push(DrawnBox {
                kind: "label",
                id: format!(
                    "{}→{}: {}",
                    self.nodes[e.from].id,
                    self.nodes[e.to].id,
                    e.label.join(" / ")
                ),
                rect: l.rect,
            });
        }
        if let Some(r) = self.band_label {
            out.push(DrawnBox {
                kind: "band",
                id: BAND_CAPTION.into(),
                rect: r,
            });
        }
        out
    }

    /// Pairs of drawn boxes that overlap (node–node, node–label,
    /// label–label, anything–caption), by id; empty when the picture is clean.
    pub fn overlaps(&self) -> Vec<(String, String)> {
        let b = self.boxes();
        let mut out = Vec::new();
        for (i, a) in b.iter().enumerate() {
            for c in b.iter().skip(i + 1) {
                if a.rect.overlaps(&c.rect) {
                    out.push((a.id.clone(), c.id.clone()));
                }
            }
        }
        out
    }
}
