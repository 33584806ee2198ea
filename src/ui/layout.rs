//! Automatic layered layout of the topology, and the geometry of its edges.
//!
//!   column 0     column 1      column 2      column 3
//!   producer ──► exchange ──►  queue    ──►  consumer ──► …      main band
//!                                 ┆ dead-letter
//!                              DLX  ──►     DLQ                  dead-letter band
//!
//! Columns come from the longest path over the flow graph (back edges found by
//! a depth-first search are ignored, so loops stay loops). Nodes that can only
//! be reached through dead-letter edges go to a band below the main flow, so
//! the road to the dead-letter queue is drawn apart. Positions saved in the
//! scenario's `layout` override the computed ones. Pure: no DOM.

use crate::engine::{Engine, NodeKind};
use crate::scenario::{OnFailure, RetryMode, Scenario};
use std::collections::BTreeMap;

pub const COL_W: f64 = 240.0;
pub const ROW_H: f64 = 120.0;
pub const BAND_GAP: f64 = 40.0;
/// Vertical gap between wrapped segments [layout units].
pub const SEG_GAP: f64 = 50.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EdgeKind {
    /// Publish, binding or delivery.
    Flow,
    /// Queue to its dead-letter exchange, or a retry policy's parking lot.
    DeadLetter,
    /// Delayed retry: consumer back to its queue after a backoff.
    Retry,
    /// Nack with requeue: consumer back to the head of its queue.
    Requeue,
    /// Exchange to its alternate exchange.
    Alternate,
}

#[derive(Clone, Debug)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    pub kind: EdgeKind,
    pub label: String,
}

#[derive(Clone, Debug)]
pub struct NodeBox {
    pub id: String,
    pub kind: NodeKind,
    /// Centre [layout units].
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    /// 0 main flow, 1 dead-letter band.
    pub band: u8,
}

#[derive(Clone, Debug, Default)]
pub struct Layout {
    /// Indexed like the engine's nodes (`NodeId.0`).
    pub nodes: Vec<NodeBox>,
    pub edges: Vec<Edge>,
    columns: usize,
}

pub fn node_size(kind: NodeKind, instances: u32) -> (f64, f64) {
    match kind {
        NodeKind::Producer => (160.0, 62.0),
        NodeKind::Exchange => (160.0, 62.0),
        NodeKind::Queue | NodeKind::Topic => (190.0, 84.0),
        NodeKind::Group => (170.0, 62.0),
        NodeKind::Consumer => {
            let rows = instances.clamp(1, 24).div_ceil(8) as f64;
            (170.0, 62.0 + rows * 18.0)
        }
    }
}

impl Layout {
    /// Lay out the engine's live topology; `saved` positions win.
    #[allow(clippy::needless_range_loop)] // parallel per-node arrays read best by index
    pub fn compute(
        engine: &Engine,
        saved: &BTreeMap<String, [f64; 2]>,
        wrap_cols: usize,
    ) -> Layout {
        let cfg: &Scenario = engine.config();
        let infos = engine.nodes();
        let n = infos.len();
        let idx: BTreeMap<&str, usize> = infos
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id.as_str(), i))
            .collect();
        let mut edges: Vec<Edge> = Vec::new();
        let mut add = |from: &str, to: &str, kind: EdgeKind, label: String| {
            if let (Some(&a), Some(&b)) = (idx.get(from), idx.get(to)) {
                edges.push(Edge {
                    from: a,
                    to: b,
                    kind,
                    label,
                });
            }
        };
        for p in &cfg.producers {
            add(&p.id, &p.to, EdgeKind::Flow, String::new());
        }
        for x in &cfg.exchanges {
            for b in &x.bindings {
                let label = if !b.headers.is_empty() {
                    let hs: Vec<String> = b
                        .headers
                        .iter()
                        .map(|(k, v)| match v {
                            Some(v) => format!("{k}={v}"),
                            None => k.clone(),
                        })
                        .collect();
                    hs.join(",")
                } else {
                    b.key.clone()
                };
                if let Some(q) = &b.queue {
                    add(&x.id, q, EdgeKind::Flow, label);
                } else if let Some(e) = &b.exchange {
                    add(&x.id, e, EdgeKind::Flow, label);
                }
            }
            if let Some(a) = &x.alternate_exchange {
                add(&x.id, a, EdgeKind::Alternate, "alternate".into());
            }
        }
        for q in &cfg.queues {
            if let Some(d) = &q.dead_letter_exchange {
                add(&q.id, d, EdgeKind::DeadLetter, "dead-letter".into());
            }
        }
        for c in &cfg.consumers {
            add(&c.queue, &c.id, EdgeKind::Flow, String::new());
            for p in &c.on_success {
                add(
                    &c.id,
                    &p.to,
                    EdgeKind::Flow,
                    p.routing_key.clone().unwrap_or_default(),
                );
            }
            match c.on_failure {
                OnFailure::Requeue => add(&c.id, &c.queue, EdgeKind::Requeue, "requeue".into()),
                OnFailure::Retry => {
                    if let Some(r) = &c.retry {
                        if r.mode == RetryMode::Delayed {
                            add(
                                &c.id,
                                &c.queue,
                                EdgeKind::Retry,
                                format!("retry, max {}", r.max_attempts),
                            );
                        }
                        if let Some(x) = &r.exhausted_to {
                            add(&c.id, x, EdgeKind::DeadLetter, "retries exhausted".into());
                        }
                    }
                }
                OnFailure::DeadLetter => {}
            }
        }

        // Bands: reachable from a producer along flow edges = main band.
        let mut main = vec![false; n];
        let mut stack: Vec<usize> = (0..n)
            .filter(|&i| infos[i].kind == NodeKind::Producer)
            .collect();
        for &s in &stack {
            main[s] = true;
        }
        while let Some(u) = stack.pop() {
            for e in &edges {
                if e.from == u
                    && matches!(e.kind, EdgeKind::Flow | EdgeKind::Alternate)
                    && !main[e.to]
                {
                    main[e.to] = true;
                    stack.push(e.to);
                }
            }
        }
        let has_in: Vec<bool> = (0..n).map(|i| edges.iter().any(|e| e.to == i)).collect();
        let band: Vec<u8> = (0..n)
            .map(|i| if main[i] || !has_in[i] { 0 } else { 1 })
            .collect();

        // Back edges by DFS from producers first, then everything else.
        let ranked: Vec<&Edge> = edges
            .iter()
            .filter(|e| !matches!(e.kind, EdgeKind::Retry | EdgeKind::Requeue))
            .collect();
        let mut state = vec![0u8; n]; // 0 new, 1 on stack, 2 done
        let mut back = vec![false; ranked.len()];
        let mut order: Vec<usize> = (0..n)
            .filter(|&i| infos[i].kind == NodeKind::Producer)
            .collect();
        order.extend((0..n).filter(|&i| infos[i].kind != NodeKind::Producer));
        for &root in &order {
            if state[root] != 0 {
                continue;
            }
            // Iterative DFS: (node, next edge index).
            let mut st: Vec<(usize, usize)> = vec![(root, 0)];
            state[root] = 1;
            while let Some(top) = st.len().checked_sub(1) {
                let (u, k) = st[top];
                if k >= ranked.len() {
                    state[u] = 2;
                    st.pop();
                    continue;
                }
                st[top].1 += 1;
                let e = ranked[k];
                if e.from != u {
                    continue;
                }
                match state[e.to] {
                    0 => {
                        state[e.to] = 1;
                        st.push((e.to, 0));
                    }
                    1 => back[k] = true,
                    _ => {}
                }
            }
        }
        // Longest path on the remaining DAG (n passes of relaxation; n ≤ 256).
        let mut col = vec![0usize; n];
        for _ in 0..n {
            let mut changed = false;
            for (ei, e) in ranked.iter().enumerate() {
                if !back[ei] && col[e.to] < col[e.from] + 1 {
                    col[e.to] = col[e.from] + 1;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }

        // Rows within (band, column): keep scenario order, then order by the
        // mean row of predecessors so edges cross less.
        let ncol = col.iter().copied().max().unwrap_or(0) + 1;
        let mut cells: Vec<Vec<Vec<usize>>> = vec![vec![Vec::new(); ncol]; 2];
        for i in 0..n {
            cells[band[i] as usize][col[i]].push(i);
        }
        let mut row = vec![0f64; n];
        for b in 0..2 {
            for c in 0..ncol {
                for (r, &i) in cells[b][c].iter().enumerate() {
                    row[i] = r as f64;
                }
            }
        }
        for _ in 0..2 {
            for b in 0..2 {
                for c in 1..ncol {
                    let mut cell = cells[b][c].clone();
                    let key = |i: usize| {
                        let preds: Vec<f64> = edges
                            .iter()
                            .filter(|e| {
                                e.to == i && band[e.from] == band[i] && col[e.from] < col[i]
                            })
                            .map(|e| row[e.from])
                            .collect();
                        if preds.is_empty() {
                            row[i]
                        } else {
                            preds.iter().sum::<f64>() / preds.len() as f64
                        }
                    };
                    let keys: Vec<(f64, usize)> = cell.iter().map(|&i| (key(i), i)).collect();
                    cell.sort_by(|a, b| {
                        let ka = keys.iter().find(|k| k.1 == *a).map(|k| k.0).unwrap_or(0.0);
                        let kb = keys.iter().find(|k| k.1 == *b).map(|k| k.0).unwrap_or(0.0);
                        ka.partial_cmp(&kb).unwrap_or(std::cmp::Ordering::Equal)
                    });
                    for (r, &i) in cell.iter().enumerate() {
                        row[i] = r as f64;
                    }
                    cells[b][c] = cell;
                }
            }
        }
        // Centre each column's rows on the band's tallest column.
        let rows_in = |b: usize| cells[b].iter().map(|c| c.len()).max().unwrap_or(0) as f64;
        let _ = rows_in;
        // Wrap long chains into segments of `wrap` columns, like lines of text,
        // so a pipeline stays readable on a narrow canvas.
        let wrap = wrap_cols.max(2);
        let nseg = ncol.div_ceil(wrap);
        let seg_rows = |b: usize, sg: usize| {
            (sg * wrap..((sg + 1) * wrap).min(ncol))
                .map(|c| cells[b][c].len())
                .max()
                .unwrap_or(0) as f64
        };
        let mut seg_y0 = vec![[0.0f64; 2]; nseg];
        let mut y = 0.0;
        for (sg, y0) in seg_y0.iter_mut().enumerate() {
            y0[0] = y;
            let r = seg_rows(0, sg);
            if r > 0.0 {
                y += r * ROW_H + SEG_GAP;
            }
        }
        y += BAND_GAP - SEG_GAP.min(y);
        for (sg, y0) in seg_y0.iter_mut().enumerate() {
            y0[1] = y;
            let r = seg_rows(1, sg);
            if r > 0.0 {
                y += r * ROW_H + SEG_GAP;
            }
        }
        let mut nodes = Vec::with_capacity(n);
        for i in 0..n {
            let b = band[i] as usize;
            let sg = col[i] / wrap;
            let in_col = cells[b][col[i]].len() as f64;
            let tall = seg_rows(b, sg);
            let offset = (tall - in_col) / 2.0;
            let y0 = seg_y0[sg][b];
            let instances = if infos[i].kind == NodeKind::Consumer {
                cfg.consumers
                    .get(infos[i].index as usize)
                    .map(|c| c.instances)
                    .unwrap_or(1)
            } else {
                1
            };
            let (w, h) = node_size(infos[i].kind, instances);
            let (mut x, mut y) = (
                (col[i] % wrap) as f64 * COL_W,
                y0 + (row[i] + offset) * ROW_H,
            );
            if let Some(p) = saved.get(&infos[i].id) {
                if p[0].is_finite() && p[1].is_finite() {
                    x = p[0];
                    y = p[1];
                }
            }
            nodes.push(NodeBox {
                id: infos[i].id.clone(),
                kind: infos[i].kind,
                x,
                y,
                w,
                h,
                band: band[i],
            });
        }
        Layout {
            nodes,
            edges,
            columns: ncol,
        }
    }

    /// Columns of the unwrapped layering.
    pub fn columns(&self) -> usize {
        self.columns
    }

    /// Bounding box (min x, min y, max x, max y) including loop room.
    /// `k` scales node boxes relative to positions (see `View::node_scale`).
    pub fn bounds(&self, k: f64) -> (f64, f64, f64, f64) {
        let mut b = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for n in &self.nodes {
            b.0 = b.0.min(n.x - n.w * k / 2.0);
            b.1 = b.1.min(n.y - n.h * k / 2.0 - 14.0);
            b.2 = b.2.max(n.x + n.w * k / 2.0);
            b.3 = b.3.max(n.y + n.h * k / 2.0);
        }
        if self.nodes.is_empty() {
            return (0.0, 0.0, 1.0, 1.0);
        }
        // Room for loops drawn under the nodes.
        let over = |e: &&Edge| matches!(e.kind, EdgeKind::Retry | EdgeKind::Requeue);
        if self.edges.iter().filter(over).any(|e| self.is_back(e, k)) {
            b.1 -= 60.0;
        }
        if self
            .edges
            .iter()
            .filter(|e| !over(e))
            .any(|e| self.is_back(e, k))
        {
            b.3 += 60.0;
        }
        b
    }

    pub fn is_back(&self, e: &Edge, k: f64) -> bool {
        let a = &self.nodes[e.from];
        let b = &self.nodes[e.to];
        b.x - b.w * k / 2.0 <= a.x + a.w * k / 2.0 + 10.0
    }

    /// Cubic Bézier control points of the route from node `a` to node `b`.
    /// `k` scales node boxes relative to positions (see `View::node_scale`).
    pub fn route(&self, a: usize, b: usize, kind: Option<EdgeKind>, k: f64) -> [(f64, f64); 4] {
        let na = &self.nodes[a];
        let nb = &self.nodes[b];
        let (naw, nah, nbw, nbh) = (na.w * k, na.h * k, nb.w * k, nb.h * k);
        let back = nb.x - nbw / 2.0 <= na.x + naw / 2.0 + 10.0;
        if !back {
            let p0 = (na.x + naw / 2.0, na.y);
            let p3 = (nb.x - nbw / 2.0, nb.y);
            let dx = (p3.0 - p0.0) * 0.5;
            [p0, (p0.0 + dx, p0.1), (p3.0 - dx, p3.1), p3]
        } else if matches!(
            kind,
            None | Some(EdgeKind::Flow) | Some(EdgeKind::DeadLetter) | Some(EdgeKind::Alternate)
        ) && nb.y - nbh / 2.0 > na.y + nah / 2.0
        {
            // Wrapped to a later segment: down from A, into the top of B.
            let p0 = (na.x, na.y + nah / 2.0);
            let p3 = (nb.x, nb.y - nbh / 2.0);
            let dy = (p3.1 - p0.1).max(40.0) * 0.6;
            [p0, (p0.0, p0.1 + dy), (p3.0, p3.1 - dy), p3]
        } else if matches!(kind, Some(EdgeKind::Requeue) | Some(EdgeKind::Retry)) {
            // Retry and requeue loops go over the top, clear of the dead-letter path below.
            let p0 = (na.x, na.y - nah / 2.0);
            let p3 = (nb.x, nb.y - nbh / 2.0);
            let top = na.y.min(nb.y) - nah.max(nbh) / 2.0 - 55.0;
            [p0, (p0.0, top), (p3.0, top), p3]
        } else {
            // Everything else that goes back loops underneath.
            let p0 = (na.x, na.y + nah / 2.0);
            let p3 = (nb.x, nb.y + nbh / 2.0);
            let bottom = na.y.max(nb.y) + nah.max(nbh) / 2.0 + 55.0;
            [p0, (p0.0, bottom), (p3.0, bottom), p3]
        }
    }

    /// The edge kind between two nodes, if there is an edge.
    pub fn edge_kind(&self, a: usize, b: usize) -> Option<EdgeKind> {
        self.edges
            .iter()
            .find(|e| e.from == a && e.to == b)
            .map(|e| e.kind)
    }
}

/// Point on a cubic Bézier at parameter `t` in [0, 1].
pub fn bezier(p: &[(f64, f64); 4], t: f64) -> (f64, f64) {
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
