//! The paths of the picture's edges: one cubic Bézier for an edge between
//! neighbouring columns or a loop, and, when that curve would pass through a
//! box it does not connect, an orthogonal detour with rounded corners through
//! the free space around the boxes (a lane between columns, a row above or
//! below them, or the channel a wrapped layout leaves between its segments).
//!
//! Guarantees: a route starts on its source box's outline and ends on its
//! target's; its parameter is the share of its length, so tokens cross it
//! at an even pace; it is computed from the boxes alone (so it follows a
//! dragged node; a detour is searched once per node geometry and cached, the
//! plain curve costs no allocation); and among the candidates the first that
//! crosses no other box wins, else the plain curve (a folded fan-out's edges pass behind its first column on
//! purpose and are never detoured).

use super::{EdgeKind, Layout, Rect};

impl Layout {
    /// The path of the edge from node `a` to node `b`.
    pub fn route(&self, a: usize, b: usize, kind: Option<EdgeKind>) -> Route {
        let plain = self.plain_route(a, b, kind);
        if self.folded || !self.crosses_others(&plain, a, b) {
            return plain;
        }
        let (ra, rb) = (self.nodes[a].rect(), self.nodes[b].rect());
        let forward = rb.x0 > ra.x1 + 10.0;
        let wrapped = !forward
            && matches!(
                kind,
                None | Some(EdgeKind::Flow)
                    | Some(EdgeKind::DeadLetter)
                    | Some(EdgeKind::Alternate)
            )
            && rb.y0 > ra.y1;
        let looping_over = matches!(kind, Some(EdgeKind::Requeue) | Some(EdgeKind::Retry));
        let key = (a, b, kind.map_or(0, |k| k as u8 + 1));
        let print = self.fingerprint();
        {
            let mut cache = self.detours.borrow_mut();
            if cache.0 != print {
                *cache = (print, Vec::new());
            }
            if let Some((_, r)) = cache.1.iter().find(|(k, _)| *k == key) {
                return *r;
            }
        }
        // Each family tried lazily, in the order that suits the edge.
        let tries: [&dyn Fn() -> Option<Route>; 4] = if forward {
            [
                &|| self.elbow(a, b),
                &|| self.over(a, b),
                &|| self.under(a, b),
                &|| self.lanes(a, b),
            ]
        } else if wrapped {
            [
                &|| self.channel(a, b),
                &|| self.under(a, b),
                &|| self.lanes(a, b),
                &|| None,
            ]
        } else if looping_over {
            [
                &|| self.over(a, b),
                &|| self.under(a, b),
                &|| self.lanes(a, b),
                &|| None,
            ]
        } else {
            [
                &|| self.under(a, b),
                &|| self.over(a, b),
                &|| self.lanes(a, b),
                &|| None,
            ]
        };
        let r = tries.iter().find_map(|f| f()).unwrap_or(plain);
        self.detours.borrow_mut().1.push((key, r));
        r
    }

    /// The geometry detours depend on: every box's centre and size, bit for
    /// bit (a dragged node changes it, so cached detours are dropped).
    fn fingerprint(&self) -> u64 {
        let mut h = self.nodes.len() as u64;
        for n in &self.nodes {
            for v in [n.x, n.y, n.w, n.h] {
                h = (h ^ v.to_bits())
                    .wrapping_mul(0x100_0000_01b3)
                    .rotate_left(17);
            }
        }
        h
    }

    /// The one-curve route: forward from A's right side to B's left; a
    /// wrapped edge down from A into B's top; retry and requeue loops over
    /// the top; anything else that goes back underneath.
    fn plain_route(&self, a: usize, b: usize, kind: Option<EdgeKind>) -> Route {
        let na = &self.nodes[a];
        let nb = &self.nodes[b];
        let (naw, nah, nbw, nbh) = (na.w, na.h, nb.w, nb.h);
        let room = self.style.loop_room();
        let back = nb.x - nbw / 2.0 <= na.x + naw / 2.0 + 10.0;
        if !back {
            let p0 = (na.x + naw / 2.0, na.y);
            let p3 = (nb.x - nbw / 2.0, nb.y);
            let dx = (p3.0 - p0.0) * 0.5;
            Route::curve([p0, (p0.0 + dx, p0.1), (p3.0 - dx, p3.1), p3])
        } else if matches!(
            kind,
            None | Some(EdgeKind::Flow) | Some(EdgeKind::DeadLetter) | Some(EdgeKind::Alternate)
        ) && nb.y - nbh / 2.0 > na.y + nah / 2.0
        {
            // Wrapped to a later segment: down from A, into the top of B.
            let p0 = (na.x, na.y + nah / 2.0);
            let p3 = (nb.x, nb.y - nbh / 2.0);
            let dy = (p3.1 - p0.1).max(40.0) * 0.6;
            Route::curve([p0, (p0.0, p0.1 + dy), (p3.0, p3.1 - dy), p3])
        } else if matches!(kind, Some(EdgeKind::Requeue) | Some(EdgeKind::Retry)) {
            // Retry and requeue loops go over the top, clear of the dead-letter path below.
            let p0 = (na.x, na.y - nah / 2.0);
            let p3 = (nb.x, nb.y - nbh / 2.0);
            let top = na.y.min(nb.y) - nah.max(nbh) / 2.0 - room;
            Route::curve([p0, (p0.0, top), (p3.0, top), p3])
        } else {
            // Everything else that goes back loops underneath.
            let p0 = (na.x, na.y + nah / 2.0);
            let p3 = (nb.x, nb.y + nbh / 2.0);
            let bottom = na.y.max(nb.y) + nah.max(nbh) / 2.0 + room;
            Route::curve([p0, (p0.0, bottom), (p3.0, bottom), p3])
        }
    }

    /// Edges whose drawn path passes through a node box other than their
    /// own ends, as (edge index, that node's id): empty when every edge stays
    /// clear of the boxes it does not connect. A folded fan-out's edges pass
    /// behind its first column on purpose and are not checked.
    pub fn edge_crossings(&self) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        if self.folded {
            return out;
        }
        for (ei, e) in self.edges.iter().enumerate() {
            let r = self.route(e.from, e.to, Some(e.kind));
            for (i, n) in self.nodes.iter().enumerate() {
                if i != e.from && i != e.to && passes_through(&r, &n.rect()) {
                    out.push((ei, n.id.clone()));
                }
            }
        }
        out
    }

    /// Whether `r` passes through a node other than its ends `a` and `b`.
    fn crosses_others(&self, r: &Route, a: usize, b: usize) -> bool {
        let bb = r.hull().inflate(1.0);
        self.nodes.iter().enumerate().any(|(i, n)| {
            let q = n.rect();
            i != a && i != b && q.overlaps(&bb) && passes_through(r, &q)
        })
    }

    /// Margin between a detour and the boxes it passes [layout units].
    fn lane_margin(&self) -> f64 {
        (self.style.gap_min * 0.4).clamp(10.0, 24.0)
    }

    /// The first of `routes` that crosses no box other than `a` and `b`.
    fn first_clear(
        &self,
        a: usize,
        b: usize,
        routes: impl Iterator<Item = Route>,
    ) -> Option<Route> {
        routes.take(24).find(|r| !self.crosses_others(r, a, b))
    }

    /// Forward edge through a vertical lane between the two boxes: out of
    /// A's right side, along the lane, into B's left side.
    fn elbow(&self, a: usize, b: usize) -> Option<Route> {
        let (ra, rb) = (self.nodes[a].rect(), self.nodes[b].rect());
        let (ya, yb) = (self.nodes[a].y, self.nodes[b].y);
        let m = self.lane_margin();
        let mut xs: Vec<f64> = vec![(ra.x1 + rb.x0) / 2.0];
        for n in &self.nodes {
            let q = n.rect();
            xs.extend([q.x1 + m, q.x0 - m]);
        }
        let (lo, hi) = (ra.x1 + m / 2.0, rb.x0 - m / 2.0);
        xs.retain(|&x| x >= lo && x <= hi);
        // The middle of the gap first, then the lanes from left to right.
        sort_floats(&mut xs[1..]);
        let r = m * 0.7;
        self.first_clear(
            a,
            b,
            xs.into_iter()
                .map(|x| Route::orthogonal(&[(ra.x1, ya), (x, ya), (x, yb), (rb.x0, yb)], r)),
        )
    }

    /// Over the top: up from A, along a free row above every box in the
    /// way, down into B's top.
    fn over(&self, a: usize, b: usize) -> Option<Route> {
        self.around(a, b, -1.0)
    }

    /// Underneath: down from A, along a free row below every box in the
    /// way, up into B's bottom.
    fn under(&self, a: usize, b: usize) -> Option<Route> {
        self.around(a, b, 1.0)
    }

    /// `over` (`dir` -1: rows above, box tops) or `under` (`dir` 1: rows
    /// below, box bottoms): out of A's side that faces `dir`, along the
    /// nearest clear row beyond both boxes, into B's same side.
    fn around(&self, a: usize, b: usize, dir: f64) -> Option<Route> {
        let side = |r: &Rect| if dir < 0.0 { r.y0 } else { r.y1 };
        let (ra, rb) = (self.nodes[a].rect(), self.nodes[b].rect());
        let m = self.lane_margin();
        // Work in "distance beyond" units (y times dir), nearest first.
        let start = (side(&ra) * dir).max(side(&rb) * dir) + self.style.loop_room().max(m);
        let mut ds: Vec<f64> = vec![start];
        ds.extend(
            self.nodes
                .iter()
                .map(|n| side(&n.rect()) * dir + m)
                .filter(|&d| d > start),
        );
        sort_floats(&mut ds);
        let r = m * 0.7;
        let (ya, yb) = (side(&ra), side(&rb));
        self.first_clear(
            a,
            b,
            ds.into_iter().map(|d| {
                let y = d * dir;
                Route::orthogonal(
                    &[(ra.cx(), ya), (ra.cx(), y), (rb.cx(), y), (rb.cx(), yb)],
                    r,
                )
            }),
        )
    }

    /// A wrapped edge through the channel a wrapped layout leaves between
    /// its segments: down from A (or out of its right side when a box sits
    /// below it) to a free row under it, along that row to a lane left of
    /// B's column, down the lane and into B's left side.
    fn channel(&self, a: usize, b: usize) -> Option<Route> {
        let (ra, rb) = (self.nodes[a].rect(), self.nodes[b].rect());
        let (ya, yb) = (self.nodes[a].y, self.nodes[b].y);
        let m = self.lane_margin();
        // Out of A's bottom, or (when a box sits right below it) its right side.
        let exits = [
            ((ra.cx(), ra.y1), ra.cx(), ra.y1 + m),
            ((ra.x1, ya), ra.x1 + m, ya),
        ];
        let xs = self.lanes_left_of(&rb, m, 6);
        let r = m * 0.7;
        let mut candidates = Vec::new();
        for (exit, xa, first_row) in exits {
            let mut ys: Vec<f64> = vec![first_row];
            ys.extend(self.nodes.iter().map(|n| n.rect().y1 + m));
            ys.retain(|&y| y >= first_row && y <= rb.y0 - m / 2.0);
            sort_floats(&mut ys);
            for &y in &ys {
                for &x in &xs {
                    candidates.push(Route::orthogonal(
                        &[exit, (xa, y), (x, y), (x, yb), (rb.x0, yb)],
                        r,
                    ));
                }
            }
        }
        candidates
            .into_iter()
            .take(96)
            .find(|route| !self.crosses_others(route, a, b))
    }
}

impl Layout {
    /// Vertical lanes left of box `rb`, nearest first: just left of it, then
    /// left of each box further left (`m` clear of it); at most `keep`.
    fn lanes_left_of(&self, rb: &Rect, m: f64, keep: usize) -> Vec<f64> {
        let mut xs: Vec<f64> = vec![rb.x0 - m];
        xs.extend(
            self.nodes
                .iter()
                .map(|n| n.rect().x0 - m)
                .filter(|&x| x < rb.x0 - m),
        );
        sort_floats(&mut xs);
        xs.reverse();
        xs.truncate(keep);
        xs
    }

    /// The general detour: out of A's right side into a lane, along a free
    /// row (between, above or below the boxes), down or up a lane left of
    /// B and into B's left side; the shortest clear one of the lanes and
    /// rows the boxes leave.
    fn lanes(&self, a: usize, b: usize) -> Option<Route> {
        let (ra, rb) = (self.nodes[a].rect(), self.nodes[b].rect());
        let (ya, yb) = (self.nodes[a].y, self.nodes[b].y);
        let m = self.lane_margin();
        let mut xas: Vec<f64> = vec![ra.x1 + m];
        xas.extend(
            self.nodes
                .iter()
                .map(|n| n.rect().x1 + m)
                .filter(|&x| x > ra.x1 + m),
        );
        sort_floats(&mut xas);
        xas.truncate(4);
        let xbs = self.lanes_left_of(&rb, m, 4);
        let mut ys: Vec<f64> = vec![ya, yb];
        for n in &self.nodes {
            let q = n.rect();
            ys.extend([q.y0 - m, q.y1 + m]);
        }
        // The shortest clear one (lengths along the runs); a candidate no
        // shorter than the best so far is not even checked.
        let r = m * 0.7;
        let mut best: Option<(f64, Route)> = None;
        for &xa in &xas {
            for &xb in &xbs {
                for &y in &ys {
                    let len = (xa - ra.x1)
                        + (y - ya).abs()
                        + (xa - xb).abs()
                        + (yb - y).abs()
                        + (rb.x0 - xb).abs();
                    if best.as_ref().is_some_and(|(l, _)| len >= *l) {
                        continue;
                    }
                    let pts = [
                        (ra.x1, ya),
                        (xa, ya),
                        (xa, y),
                        (xb, y),
                        (xb, yb),
                        (rb.x0, yb),
                    ];
                    let route = Route::orthogonal(&pts, r);
                    if !self.crosses_others(&route, a, b) {
                        best = Some((len, route));
                    }
                }
            }
        }
        best.map(|(_, route)| route)
    }
}

/// Sorts ascending: every list of positions here goes through this one
/// function (`small_sort`: one sort instance for the whole picture).
fn sort_floats(v: &mut [f64]) {
    crate::small_sort::sort_by(v, f64::total_cmp);
}

/// Whether `r` passes through the inside of `q` (sampled; a graze of the
/// outline, within 2 units, does not count).
fn passes_through(r: &Route, q: &Rect) -> bool {
    const SAMPLES: usize = 64;
    let q = q.inflate(-2.0);
    (1..SAMPLES).any(|k| {
        let (x, y) = bezier(r, k as f64 / SAMPLES as f64);
        x > q.x0 && x < q.x1 && y > q.y0 && y < q.y1
    })
}

/// Most pieces a route has: an orthogonal detour of five straight runs and
/// four rounded corners.
pub const ROUTE_PIECES_MAX: usize = 10;

/// An edge's path: cubic Bézier pieces joined end to end, with the share of
/// the whole length at which each ends, so a token crosses it at an even
/// pace. A plain edge is one piece. Fixed-size (no allocation): routes are
/// computed for every token pair on every frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Route {
    pieces: [[(f64, f64); 4]; ROUTE_PIECES_MAX],
    ends: [f64; ROUTE_PIECES_MAX],
    n: usize,
}

impl Route {
    /// One cubic Bézier (its four control points).
    pub fn curve(c: [(f64, f64); 4]) -> Route {
        let mut r = Route {
            pieces: [[(0.0, 0.0); 4]; ROUTE_PIECES_MAX],
            ends: [1.0; ROUTE_PIECES_MAX],
            n: 1,
        };
        r.pieces[0] = c;
        r
    }

    /// A polyline of horizontal and vertical runs through `pts`, its corners
    /// rounded with radius up to `radius` (less where a run is short).
    /// At most `ROUTE_PIECES_MAX` pieces; extra points are ignored.
    pub fn orthogonal(pts: &[(f64, f64)], radius: f64) -> Route {
        let mut out = Route::curve([(0.0, 0.0); 4]);
        out.n = 0;
        let mut push = |c: [(f64, f64); 4]| {
            if out.n < ROUTE_PIECES_MAX {
                out.pieces[out.n] = c;
                out.n += 1;
            }
        };
        let line = |p: (f64, f64), q: (f64, f64)| {
            [
                p,
                (p.0 + (q.0 - p.0) / 3.0, p.1 + (q.1 - p.1) / 3.0),
                (p.0 + (q.0 - p.0) * 2.0 / 3.0, p.1 + (q.1 - p.1) * 2.0 / 3.0),
                q,
            ]
        };
        let dist =
            |p: (f64, f64), q: (f64, f64)| ((q.0 - p.0).powi(2) + (q.1 - p.1).powi(2)).sqrt();
        let unit = |p: (f64, f64), q: (f64, f64)| {
            let d = dist(p, q).max(1e-9);
            ((q.0 - p.0) / d, (q.1 - p.1) / d)
        };
        // Drop repeated points (a zero-length run has no direction).
        let mut v: Vec<(f64, f64)> = Vec::with_capacity(pts.len());
        for &p in pts {
            if v.last().is_none_or(|&l| dist(l, p) > 1e-6) {
                v.push(p);
            }
        }
        if v.len() < 2 {
            let p = v.first().copied().unwrap_or((0.0, 0.0));
            return Route::curve([p; 4]);
        }
        let mut from = v[0];
        for i in 1..v.len() - 1 {
            let (p, c, q) = (v[i - 1], v[i], v[i + 1]);
            let rr = radius.min(dist(p, c) / 2.0).min(dist(c, q) / 2.0);
            let (din, dout) = (unit(p, c), unit(c, q));
            let s = (c.0 - din.0 * rr, c.1 - din.1 * rr);
            let e = (c.0 + dout.0 * rr, c.1 + dout.1 * rr);
            push(line(from, s));
            // A quarter circle as a cubic (the usual 0.5523 handle).
            let k = 0.5523 * rr;
            push([
                s,
                (s.0 + din.0 * k, s.1 + din.1 * k),
                (e.0 - dout.0 * k, e.1 - dout.1 * k),
                e,
            ]);
            from = e;
        }
        push(line(from, v[v.len() - 1]));
        // Length shares: each piece's length estimated as the mean of its
        // chord and its control polygon.
        let mut total = 0.0;
        let mut lens = [0.0; ROUTE_PIECES_MAX];
        for (k, c) in out.pieces[..out.n].iter().enumerate() {
            let poly = dist(c[0], c[1]) + dist(c[1], c[2]) + dist(c[2], c[3]);
            lens[k] = (poly + dist(c[0], c[3])) / 2.0;
            total += lens[k];
        }
        let (mut acc, n) = (0.0, out.n);
        for (k, (end, len)) in out.ends[..n].iter_mut().zip(lens).enumerate() {
            acc += len;
            *end = if total > 0.0 {
                acc / total
            } else {
                (k + 1) as f64 / n as f64
            };
        }
        out.ends[out.n - 1] = 1.0;
        out
    }

    /// The pieces, in order from the source.
    pub fn pieces(&self) -> &[[(f64, f64); 4]] {
        &self.pieces[..self.n]
    }

    /// The last piece (the arrow head follows its end tangent).
    pub fn last(&self) -> &[(f64, f64); 4] {
        &self.pieces[self.n - 1]
    }

    /// The box around every control point (a curve stays inside it).
    pub fn hull(&self) -> Rect {
        let mut r = Rect {
            x0: f64::INFINITY,
            y0: f64::INFINITY,
            x1: f64::NEG_INFINITY,
            y1: f64::NEG_INFINITY,
        };
        for p in self.pieces().iter().flatten() {
            r.x0 = r.x0.min(p.0);
            r.y0 = r.y0.min(p.1);
            r.x1 = r.x1.max(p.0);
            r.y1 = r.y1.max(p.1);
        }
        r
    }
}

/// Point on a route at parameter `t` in [0, 1] (share of its length).
pub fn bezier(r: &Route, t: f64) -> (f64, f64) {
    let t = t.clamp(0.0, 1.0);
    let mut start = 0.0;
    for k in 0..r.n {
        let end = r.ends[k];
        if t <= end || k + 1 == r.n {
            let u = if end > start {
                (t - start) / (end - start)
            } else {
                1.0
            };
            return cubic(&r.pieces[k], u.clamp(0.0, 1.0));
        }
        start = end;
    }
    cubic(&r.pieces[0], t)
}

/// Point on a cubic Bézier at parameter `t` in [0, 1].
pub fn cubic(p: &[(f64, f64); 4], t: f64) -> (f64, f64) {
    let u = 1.0 - t;
    let a = u * u * u;
    let b = 3.0 * u * u * t;
    let c = 3.0 * u * t * t;
    let d = t * t * t;
    (
        a * p[0].0 + b * p[1].0 + c * p[2].0 + d * p[3].0,
        a * p[0].1 + b * p[1].1 + c * p[2].1 + d * p[3].1,
    )
}
