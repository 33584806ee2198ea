//! Folding a big fan-out for presenter mode: when the picture ends in many
//! parallel chains (fanout-large: an exchange → 16 × queue → consumer), one
//! column of 16 rows is too tall for a projector. `fold_parallel_tail` moves
//! those chains into `fold` columns side by side, each chain stacked top to
//! bottom (the queue above its consumer, joined by a short vertical link),
//! chains in reading order down each column.
//!
//! A pure move of node positions: the edges, labels and band of the laid-out
//! picture stay as they are, so it applies only where none of them depends
//! on the tail's place — no labels on its edges, no dead-letter band, every
//! edge into the tail from before it and every edge inside it along one
//! chain. Anything else is left unfolded (`None`).

use super::{Layout, NodeKind};

/// A tail of more parallel chains than this may fold.
const FOLD_MIN_CHAINS: usize = 10;
/// Room right of a consumer for its "processed" square (see `bounds`).
const PROCESSED_ROOM: f64 = 34.0;

impl Layout {
    /// This layout with its parallel tail folded into `fold` columns, or
    /// `None` when it has no such tail (see the module header).
    pub fn fold_parallel_tail(&self, fold: usize) -> Option<Layout> {
        if fold < 2 || self.band_top.is_some() || self.nodes.iter().any(|n| n.band != 0) {
            return None;
        }
        // Columns by x (the layering puts a column's nodes on one x).
        let mut xs: Vec<f64> = self.nodes.iter().map(|n| n.x).collect();
        crate::small_sort::sort_by(&mut xs, f64::total_cmp);
        xs.dedup_by(|a, b| (*a - *b).abs() < 0.5);
        let col_of = |x: f64| xs.iter().position(|c| (c - x).abs() < 0.5).unwrap_or(0);
        let mut cols: Vec<Vec<usize>> = vec![Vec::new(); xs.len()];
        for (i, n) in self.nodes.iter().enumerate() {
            cols[col_of(n.x)].push(i);
        }
        for c in &mut cols {
            crate::small_sort::sort_by(c, |&a, &b| self.nodes[a].y.total_cmp(&self.nodes[b].y));
        }
        let c0 = (1..cols.len()).find(|&c| cols[c].len() > FOLD_MIN_CHAINS)?;
        let n = cols[c0].len();
        if cols[c0..].iter().any(|c| c.len() != n) {
            return None;
        }
        let col = |i: usize| col_of(self.nodes[i].x);
        let row = |i: usize| cols[col(i)].iter().position(|&k| k == i).unwrap_or(0);
        let clean = self.edges.iter().enumerate().all(|(k, e)| {
            let (a, b) = (col(e.from), col(e.to));
            if a < c0 && b < c0 {
                return true;
            }
            let labelled = !e.label.is_empty() || self.labels.iter().any(|l| l.edge == k);
            !labelled
                && ((a < c0 && b == c0) || (a >= c0 && b == a + 1 && row(e.from) == row(e.to)))
        });
        if !clean {
            return None;
        }
        // Row pitch of the tail as laid out, and the widest tail box.
        let pitch = (self.nodes[cols[c0][1]].y - self.nodes[cols[c0][0]].y).abs();
        let len = cols.len() - c0;
        let wc = cols[c0..]
            .iter()
            .flatten()
            .map(|&i| self.nodes[i].w)
            .fold(0.0, f64::max);
        let consumer_room = if cols[c0..]
            .iter()
            .flatten()
            .any(|&i| self.nodes[i].kind == NodeKind::Consumer)
        {
            PROCESSED_ROOM
        } else {
            0.0
        };
        let step = wc + self.style.gap_min + consumer_room;
        let per = n.div_ceil(fold);
        let first = &self.nodes[cols[c0][0]];
        let x0 = first.x - first.w / 2.0 + wc / 2.0;
        // Centred where the tail was centred.
        let mid = (self.nodes[cols[c0][0]].y + self.nodes[cols[c0][n - 1]].y) / 2.0;
        let y0 = mid - (per * len) as f64 * pitch / 2.0 + pitch / 2.0;
        let mut out = self.clone();
        out.folded = true;
        for (dc, c) in cols[c0..].iter().enumerate() {
            for (r, &i) in c.iter().enumerate() {
                out.nodes[i].x = x0 + (r / per) as f64 * step;
                out.nodes[i].y = y0 + ((r % per) * len + dc) as f64 * pitch;
            }
        }
        Some(out)
    }
}
