//! Automatic layered layout of the topology, the geometry of its edges and
//! where every piece of text goes. Pure: no DOM, so it is unit-tested.
//!
//!   column 0     column 1      column 2      column 3
//!   producer ──► exchange ──►  queue    ──►  consumer ──► …      main band
//!                     "kern.#"    ┆ dead-letter
//!                              DLX  ──►     DLQ                  dead-letter band
//!
//! Columns come from the longest path over the flow graph (back edges found by
//! a depth-first search are ignored, so loops stay loops). Nodes that can only
//! be reached through dead-letter edges go to a band below the main flow, so
//! the road to the dead-letter queue is drawn apart. Positions saved in the
//! scenario's `layout` override the computed ones.
//!
//! Everything is in *layout units*; the view scales all of it by one factor
//! (positions, boxes, text, strokes), so what does not overlap here does not
//! overlap on screen. Sizes come from the text they hold: a node is as wide
//! as its name and its widest detail line (`style.rs`, with widths from
//! `text.rs`), a column gap as wide as the binding labels that sit in it.
//! Labels are then placed on their edges clear of nodes and of each other
//! (`place.rs`). Columns with many nodes (a big fan-out) draw them compact,
//! one row each, so the picture still fits the canvas.

mod fold;
mod place;
mod route;
pub mod streams;
mod style;
pub mod text;

pub use place::{DrawnBox, LabelBox, Rect, BAND_CAPTION};
pub use route::{bezier, cubic, Route, ROUTE_PIECES_MAX};
pub use style::{consumer_dot_rows, dots_per_row, node_size, NodeRows, Style, NORMAL, PRESENTER};

use crate::engine::{Engine, NodeKind};
use crate::scenario::{ExchangeKind, GroupOnFailure, OnFailure, RetryMode, Scenario, XMatch};
use std::collections::BTreeMap;
use style::detail_templates;
use text::text_w;

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
    /// Label lines (empty: no label). Parallel bindings between the same two
    /// nodes share one edge and list their keys one per line.
    pub label: Vec<String>,
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
    /// Drawn with the name and one detail line only (dense columns).
    pub compact: bool,
    /// The kind tag when the configuration says more than the kind (an SQS
    /// queue, a priority queue, a Pulsar subscription's type); `None`: the
    /// kind's own word.
    pub tag: Option<String>,
}

/// The kind tag of a queue with `max_priority`.
pub const PRIORITY_QUEUE_TAG: &str = "PRIORITY QUEUE";

/// A node's kind tag from its configuration (see `NodeBox::tag`).
fn config_tag(cfg: &Scenario, kind: NodeKind, i: usize) -> Option<String> {
    match kind {
        NodeKind::PulsarSubscription => cfg.pulsar_subscriptions.get(i).map(|s| {
            let t = match s.kind {
                crate::scenario::SubscriptionType::Exclusive => "EXCLUSIVE",
                crate::scenario::SubscriptionType::Failover => "FAILOVER",
                crate::scenario::SubscriptionType::Shared => "SHARED",
                crate::scenario::SubscriptionType::KeyShared => "KEY_SHARED",
            };
            format!("SUBSCRIPTION · {t}")
        }),
        NodeKind::Queue => cfg
            .queues
            .get(i)
            .and_then(|q| match (&q.sqs, q.max_priority) {
                (Some(s), _) => Some(if s.fifo() { "SQS FIFO" } else { "SQS" }.to_string()),
                (None, Some(_)) => Some(PRIORITY_QUEUE_TAG.to_string()),
                (None, None) if q.single_active_consumer => {
                    Some("QUEUE · SINGLE ACTIVE".to_string())
                }
                (None, None) => None,
            }),
        NodeKind::Producer => cfg
            .producers
            .get(i)
            .and_then(|p| p.priority)
            .map(|p| format!("PRODUCER · PRIORITY {p}")),
        NodeKind::Consumer => cfg
            .consumers
            .get(i)
            .and_then(|c| c.priority)
            .map(|p| format!("CONSUMER · PRIORITY {p}")),
        _ => None,
    }
}

impl NodeBox {
    pub fn rect(&self) -> Rect {
        Rect::centered(self.x, self.y, self.w, self.h)
    }
}

#[derive(Clone, Debug)]
pub struct Layout {
    /// Indexed like the engine's nodes (`NodeId.0`).
    pub nodes: Vec<NodeBox>,
    pub edges: Vec<Edge>,
    /// Placed edge labels (see `place.rs`).
    pub labels: Vec<LabelBox>,
    /// Top of the dead-letter band and its caption's box, if there is a band.
    pub band_top: Option<f64>,
    pub band_label: Option<Rect>,
    pub style: Style,
    columns: usize,
    /// A big fan-out folded into columns (`fold.rs`): edges to the later
    /// columns pass behind the first, so tokens are drawn under the boxes.
    pub folded: bool,
    /// Detours found (`route.rs`), keyed by (from, to, kind), for the node
    /// geometry whose fingerprint they carry: searching one costs more than
    /// a frame should spend on every token, and only changes when a node does.
    #[allow(clippy::type_complexity)]
    detours: std::cell::RefCell<(u64, Vec<((usize, usize, u8), Route)>)>,
}

impl Default for Layout {
    fn default() -> Self {
        Layout {
            nodes: Vec::new(),
            edges: Vec::new(),
            labels: Vec::new(),
            band_top: None,
            band_label: None,
            style: NORMAL,
            columns: 0,
            folded: false,
            detours: Default::default(),
        }
    }
}

/// A caption of more than 12 characters with a space, as two lines split at
/// the space nearest its middle; anything else as it is.
fn split_caption(line: &str) -> Vec<String> {
    let mid = line.len() / 2;
    let cut = line
        .match_indices(' ')
        .map(|(i, _)| i)
        .min_by_key(|&i| i.abs_diff(mid));
    match cut {
        Some(i) if line.len() > 12 => vec![line[..i].to_string(), line[i + 1..].to_string()],
        _ => vec![line.to_string()],
    }
}

/// Label lines of a binding: its key, or its headers one per line, the
/// later ones prefixed by the match mode ("and" / "or").
fn binding_label(x_kind: ExchangeKind, b: &crate::scenario::Binding) -> Vec<String> {
    match x_kind {
        ExchangeKind::Fanout => Vec::new(),
        ExchangeKind::Headers => {
            let any = matches!(b.x_match_mode(), XMatch::Any | XMatch::AnyWithX);
            b.headers
                .iter()
                .enumerate()
                .map(|(i, (k, v))| {
                    let h = match v {
                        Some(v) => format!("{k}={v}"),
                        None => format!("has {k}"),
                    };
                    match (i, any) {
                        (0, _) => h,
                        (_, true) => format!("or {h}"),
                        (_, false) => format!("and {h}"),
                    }
                })
                .collect()
        }
        ExchangeKind::Direct | ExchangeKind::Topic => {
            if b.key.is_empty() {
                Vec::new()
            } else {
                vec![format!("\"{}\"", b.key)]
            }
        }
    }
}

impl Layout {
    /// Lay out the engine's live topology in the normal style; `saved` positions win.
    pub fn compute(
        engine: &Engine,
        saved: &BTreeMap<String, [f64; 2]>,
        wrap_cols: usize,
    ) -> Layout {
        Layout::compute_styled(engine, saved, wrap_cols, &NORMAL)
    }

    /// Lay out the engine's live topology with `style`; `saved` positions win.
    #[allow(clippy::needless_range_loop)] // parallel per-node arrays read best by index
    pub fn compute_styled(
        engine: &Engine,
        saved: &BTreeMap<String, [f64; 2]>,
        wrap_cols: usize,
        style: &Style,
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
        let mut add = |from: &str, to: &str, kind: EdgeKind, label: Vec<String>| {
            let (Some(&a), Some(&b)) = (idx.get(from), idx.get(to)) else {
                return;
            };
            // Parallel bindings between the same nodes share one edge.
            if let Some(e) = edges
                .iter_mut()
                .find(|e| e.from == a && e.to == b && e.kind == kind)
            {
                for l in label {
                    if !e.label.contains(&l) {
                        e.label.push(l);
                    }
                }
                return;
            }
            edges.push(Edge {
                from: a,
                to: b,
                kind,
                label,
            });
        };
        for p in &cfg.producers {
            add(&p.id, &p.to, EdgeKind::Flow, Vec::new());
        }
        for x in &cfg.exchanges {
            for b in &x.bindings {
                let label = binding_label(x.kind, b);
                if let Some(q) = &b.queue {
                    add(&x.id, q, EdgeKind::Flow, label);
                } else if let Some(e) = &b.exchange {
                    add(&x.id, e, EdgeKind::Flow, label);
                }
            }
            if let Some(a) = &x.alternate_exchange {
                add(&x.id, a, EdgeKind::Alternate, vec!["unroutable".into()]);
            }
        }
        for q in &cfg.queues {
            if let Some(d) = &q.dead_letter_exchange {
                add(&q.id, d, EdgeKind::DeadLetter, Vec::new());
            }
            // SQS redrive: moved at the receive past maxReceiveCount.
            let redrive = q
                .sqs
                .as_ref()
                .and_then(|s| s.dead_letter_queue.as_ref().zip(s.max_receive_count));
            if let Some((d, n)) = redrive {
                add(
                    &q.id,
                    d,
                    EdgeKind::DeadLetter,
                    vec![format!("after {n} receives")],
                );
            }
        }
        for c in &cfg.consumers {
            add(&c.queue, &c.id, EdgeKind::Flow, Vec::new());
            for p in &c.on_success {
                let key = p.routing_key.iter().map(|k| format!("\"{k}\"")).collect();
                add(&c.id, &p.to, EdgeKind::Flow, key);
            }
            match c.on_failure {
                OnFailure::Requeue => {
                    add(&c.id, &c.queue, EdgeKind::Requeue, vec!["requeue".into()])
                }
                OnFailure::Retry => {
                    if let Some(r) = &c.retry {
                        if r.mode == RetryMode::Delayed {
                            // The second line is filled in live ("N waiting");
                            // its box is sized for five digits.
                            add(
                                &c.id,
                                &c.queue,
                                EdgeKind::Retry,
                                vec![format!("retry, max {}", r.max_attempts)],
                            );
                        }
                        if let Some(x) = &r.exhausted_to {
                            add(
                                &c.id,
                                x,
                                EdgeKind::DeadLetter,
                                vec!["retries exhausted".into()],
                            );
                        }
                    }
                }
                OnFailure::DeadLetter => {}
            }
        }
        // A group reads its topics: the edge places the group right of the
        // topic (the renderer draws ownership lines instead of the edge).
        for g in &cfg.consumer_groups {
            for t in &g.topics {
                add(t, &g.id, EdgeKind::Flow, Vec::new());
            }
        }
        // A failing record's way out: Spring Kafka's retry topics (read by
        // the group itself, a delay after the append) and dead-letter topics.
        // Drawn, but left out of the placement (added after it): as ranked
        // edges they would add a column right of the groups and shrink
        // kafka-retry-topics' names below 24 px in presenter mode at
        // 1024×640; the topics stay in the first column and the edges loop
        // back to them.
        let mut late: Vec<Edge> = Vec::new();
        let mut add_late = |from: &str, to: &str, kind: EdgeKind, label: Vec<String>| {
            if let (Some(&a), Some(&b)) = (idx.get(from), idx.get(to)) {
                late.push(Edge {
                    from: a,
                    to: b,
                    kind,
                    label,
                });
            }
        };
        for g in &cfg.consumer_groups {
            match &g.on_failure {
                Some(GroupOnFailure::DeadLetter {
                    topic, attempts, ..
                }) => {
                    let label = format!("after {attempts} attempt{}", plural(*attempts));
                    add_late(&g.id, topic, EdgeKind::DeadLetter, vec![label]);
                }
                Some(GroupOnFailure::RetryTopics {
                    topics,
                    dead_letter,
                }) => {
                    for r in topics {
                        add_late(&r.topic, &g.id, EdgeKind::Flow, Vec::new());
                        let label = format!("retry in {}", r.delay);
                        add_late(&g.id, &r.topic, EdgeKind::Requeue, vec![label]);
                    }
                    if let Some(d) = dead_letter {
                        add_late(
                            &g.id,
                            d,
                            EdgeKind::DeadLetter,
                            vec!["retries exhausted".into()],
                        );
                    }
                }
                _ => {}
            }
        }
        // Read-process-write: the group writes its outputs to another topic.
        for g in &cfg.consumer_groups {
            if let Some(o) = &g.output {
                let label = if o.transactional {
                    "transactional"
                } else {
                    "output"
                };
                add(&g.id, &o.topic, EdgeKind::Flow, vec![label.into()]);
            }
        }
        // Redis: a server to its subscribers (labelled with their channels
        // and patterns), a stream to its groups.
        for sub in &cfg.redis_subscribers {
            let label = sub.channels.iter().chain(&sub.patterns).cloned().collect();
            add(&sub.server, &sub.id, EdgeKind::Flow, label);
        }
        for g in &cfg.redis_groups {
            add(&g.stream, &g.id, EdgeKind::Flow, Vec::new());
        }
        // Pulsar: a topic to its subscriptions (their type is in their box's
        // tag), a subscription to its dead-letter topic.
        for s in &cfg.pulsar_subscriptions {
            add(&s.topic, &s.id, EdgeKind::Flow, Vec::new());
            // The policy's topic, or a topic named as Pulsar's default
            // dead-letter topic (per partition without retry), if there is one.
            let partitions = cfg
                .pulsar_topics
                .iter()
                .find(|t| t.id == s.topic)
                .map_or(0, |t| t.partitions);
            let dead_letters = s.dead_letter.is_some() || s.retry_letter_delay.is_some();
            for t in s.dead_letter_topic_names(partitions) {
                if dead_letters && cfg.pulsar_topics.iter().any(|x| x.id == t) {
                    add(&s.id, &t, EdgeKind::DeadLetter, vec!["DLQ".into()]);
                }
            }
        }
        for e in edges.iter_mut().filter(|e| e.kind == EdgeKind::Retry) {
            e.label.push("88888 waiting".into());
        }
        if style.brief {
            // Presenter mode: a long caption ("retries exhausted") takes two
            // short lines, so the column gap it sits in stays narrow. Binding
            // keys and headers stay whole; the retry loop's second line is
            // its live waiting count.
            let caption = |k: EdgeKind| matches!(k, EdgeKind::DeadLetter | EdgeKind::Alternate);
            for e in edges.iter_mut().filter(|e| caption(e.kind)) {
                e.label = e.label.iter().flat_map(|l| split_caption(l)).collect();
            }
        }

        // Bands: reachable along flow edges from a producer, or from a node
        // nothing leads to (a Redis stream a variant's producer writes to) =
        // main band; what only a dead-letter edge reaches goes below.
        let mut main = vec![false; n];
        let has_in: Vec<bool> = (0..n).map(|i| edges.iter().any(|e| e.to == i)).collect();
        let mut stack: Vec<usize> = (0..n)
            .filter(|&i| infos[i].kind == NodeKind::Producer || !has_in[i])
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
                    crate::small_sort::sort_by(&mut cell, |a, b| {
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

        // Sizes from the text each node holds; dense columns draw compact.
        let mut size = vec![(0.0f64, 0.0f64); n];
        let mut compact = vec![false; n];
        for i in 0..n {
            let dense = cells[band[i] as usize][col[i]].len() > style.dense_rows;
            compact[i] = dense;
            let index = infos[i].index as usize;
            let instances = if infos[i].kind == NodeKind::Consumer {
                cfg.consumers.get(index).map(|c| c.instances).unwrap_or(1)
            } else {
                1
            };
            let details = detail_templates(cfg, infos[i].kind, index, dense, style.brief);
            size[i] = match infos[i].kind {
                // Strips and member rows (see `streams.rs`).
                NodeKind::Topic if !dense => {
                    let now = engine.topic_view(index).partitions.len();
                    let parts = streams::partitions_planned(cfg, index, now);
                    let lanes = streams::readers(cfg, &infos[i].id).len();
                    let replicated = cfg.topics[index].replication.is_some();
                    let (w, h) =
                        streams::StripGeom::new(style, parts, lanes, replicated).size(style);
                    // Presenter mode's shorter strips can be narrower than the name.
                    let name_w = text_w(&infos[i].id, style.title_px, true) + 2.0 * style.pad;
                    (w.max(name_w.ceil()), h)
                }
                NodeKind::Group if !dense => {
                    let now = engine.group_view(index).members.len();
                    let m = streams::members_planned(cfg, index, now);
                    streams::MemberGeom::new(style, m).size(style, &infos[i].id)
                }
                _ => node_size(
                    style,
                    infos[i].kind,
                    &infos[i].id,
                    config_tag(cfg, infos[i].kind, index).as_deref(),
                    &details,
                    instances,
                    dense,
                ),
            };
        }

        // Wrap long chains into segments of `wrap` columns, like lines of text,
        // so a pipeline stays readable on a narrow canvas.
        let wrap = wrap_cols.max(2).min(ncol.max(2));
        let nseg = ncol.div_ceil(wrap);
        let label_w = |e: &Edge| {
            e.label
                .iter()
                .map(|l| text_w(l, style.label_px, false))
                .fold(0.0, f64::max)
                + 10.0
        };
        // Column widths and the gaps after them (room for the labels there).
        let mut col_w = vec![0.0f64; wrap];
        for i in 0..n {
            let c = col[i] % wrap;
            col_w[c] = col_w[c].max(size[i].0);
        }
        let mut gap = vec![style.gap_min; wrap];
        for e in &edges {
            let (a, b) = (col[e.from], col[e.to]);
            if !e.label.is_empty() && b == a + 1 && a / wrap == b / wrap {
                let c = a % wrap;
                gap[c] = gap[c].max(label_w(e) + 28.0);
            }
        }
        let mut col_x = vec![0.0f64; wrap];
        for c in 1..wrap {
            col_x[c] = col_x[c - 1] + col_w[c - 1] / 2.0 + gap[c - 1] + col_w[c] / 2.0;
        }
        // Row pitch per (band, column): the tallest node there plus a gap.
        let pitch = |b: usize, c: usize| {
            let dense = cells[b][c].len() > style.dense_rows;
            cells[b][c].iter().map(|&i| size[i].1).fold(0.0, f64::max)
                + if dense {
                    style.row_gap * 0.4
                } else {
                    style.row_gap
                }
        };
        let col_h = |b: usize, c: usize| cells[b][c].len() as f64 * pitch(b, c);
        let seg_h = |b: usize, sg: usize| {
            (sg * wrap..((sg + 1) * wrap).min(ncol))
                .map(|c| col_h(b, c))
                .fold(0.0, f64::max)
        };
        let seg_gap = style.loop_room();
        let band_gap = style.label_px * 2.0 + 24.0;
        let mut seg_y0 = vec![[0.0f64; 2]; nseg];
        let mut y = 0.0;
        for (sg, y0) in seg_y0.iter_mut().enumerate() {
            y0[0] = y;
            let h = seg_h(0, sg);
            if h > 0.0 {
                y += h + seg_gap;
            }
        }
        y += band_gap - seg_gap.min(y);
        for (sg, y0) in seg_y0.iter_mut().enumerate() {
            y0[1] = y;
            let h = seg_h(1, sg);
            if h > 0.0 {
                y += h + seg_gap;
            }
        }
        let mut nodes = Vec::with_capacity(n);
        for i in 0..n {
            let b = band[i] as usize;
            let sg = col[i] / wrap;
            let c = col[i];
            let p = pitch(b, c);
            let offset = (seg_h(b, sg) - col_h(b, c)) / 2.0;
            let (mut x, mut y) = (
                col_x[c % wrap],
                seg_y0[sg][b] + offset + row[i] * p + p / 2.0,
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
                w: size[i].0,
                h: size[i].1,
                band: band[i],
                compact: compact[i],
                tag: config_tag(cfg, infos[i].kind, infos[i].index as usize),
            });
        }
        if style.brief {
            for e in late.iter_mut().filter(|e| e.kind == EdgeKind::DeadLetter) {
                e.label = e.label.iter().flat_map(|l| split_caption(l)).collect();
            }
        }
        edges.extend(late);
        let mut layout = Layout {
            nodes,
            edges,
            labels: Vec::new(),
            band_top: None,
            band_label: None,
            style: *style,
            columns: ncol,
            folded: false,
            detours: Default::default(),
        };
        layout.place_labels();
        layout
    }

    /// Columns of the unwrapped layering.
    pub fn columns(&self) -> usize {
        self.columns
    }

    /// Bounding box of everything drawn: nodes, edges (loops included),
    /// labels and the band caption.
    pub fn bounds(&self) -> Rect {
        let mut b: Option<Rect> = None;
        let mut grow = |r: Rect| {
            b = Some(match b {
                Some(b) => b.union(&r),
                None => r,
            })
        };
        for n in &self.nodes {
            let mut r = n.rect();
            if n.kind == NodeKind::Consumer {
                // Room for the "processed" square that leaves to the right.
                r.x1 += 34.0;
            }
            grow(r);
        }
        for e in &self.edges {
            let r = self.route(e.from, e.to, Some(e.kind));
            for k in 0..=16 {
                let (x, y) = bezier(&r, k as f64 / 16.0);
                grow(Rect::centered(x, y, 4.0, 4.0));
            }
        }
        for l in &self.labels {
            grow(l.rect);
        }
        if let Some(r) = self.band_label {
            grow(r);
        }
        b.unwrap_or(Rect {
            x0: 0.0,
            y0: 0.0,
            x1: 1.0,
            y1: 1.0,
        })
    }

    pub fn is_back(&self, e: &Edge) -> bool {
        let a = &self.nodes[e.from];
        let b = &self.nodes[e.to];
        b.x - b.w / 2.0 <= a.x + a.w / 2.0 + 10.0
    }

    /// The edge kind between two nodes, if there is an edge.
    pub fn edge_kind(&self, a: usize, b: usize) -> Option<EdgeKind> {
        self.edges
            .iter()
            .find(|e| e.from == a && e.to == b)
            .map(|e| e.kind)
    }
}

/// "s" unless `n` is 1.
fn plural(n: u32) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
