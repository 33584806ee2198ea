//! The topology as a standalone SVG document: nodes, edges and edge labels
//! from the layout alone, in layout units, light theme — the shape of the
//! system, not a moment of it, so the same scenario gives the same file at
//! any window size. Pure (no browser): the app offers it as a download and
//! the CLI writes it (`queuelab export svg`). Names are escaped, never
//! inserted as markup.

use super::layout::{EdgeKind, Layout};
use crate::engine::NodeKind;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A node kind's tag word, as the canvas writes it.
pub fn kind_word(k: NodeKind) -> &'static str {
    match k {
        NodeKind::Producer => "PRODUCER",
        NodeKind::Exchange => "EXCHANGE",
        NodeKind::Queue => "QUEUE",
        NodeKind::Consumer => "CONSUMER",
        NodeKind::Topic => "TOPIC",
        NodeKind::Group => "GROUP",
        NodeKind::RedisPubSub => "REDIS",
        NodeKind::RedisSubscriber => "SUBSCRIBER",
        NodeKind::RedisStream => "STREAM",
        NodeKind::RedisGroup => "XGROUP",
        NodeKind::PulsarTopic => "PULSAR TOPIC",
        NodeKind::PulsarSubscription => "SUBSCRIPTION",
    }
}

fn kind_colour(k: NodeKind) -> &'static str {
    match k {
        NodeKind::Producer => "#2563eb",
        NodeKind::Exchange => "#7c3aed",
        NodeKind::Queue => "#0f766e",
        NodeKind::Consumer => "#15803d",
        NodeKind::Topic => "#b45309",
        NodeKind::Group => "#be185d",
        NodeKind::RedisPubSub | NodeKind::RedisStream => "#dc2626",
        NodeKind::RedisSubscriber | NodeKind::RedisGroup => "#b91c1c",
        NodeKind::PulsarTopic => "#0369a1",
        NodeKind::PulsarSubscription => "#0e7490",
    }
}

/// The topology as a standalone SVG document (light theme), in layout units.
pub fn topology_svg(layout: &Layout, title: &str) -> String {
    let pad = 24.0;
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    let mut grow = |r: &super::layout::Rect| {
        x0 = x0.min(r.x0);
        y0 = y0.min(r.y0);
        x1 = x1.max(r.x1);
        y1 = y1.max(r.y1);
    };
    for n in &layout.nodes {
        grow(&n.rect());
    }
    for l in &layout.labels {
        grow(&l.rect);
    }
    if layout.nodes.is_empty() {
        (x0, y0, x1, y1) = (0.0, 0.0, 100.0, 40.0);
    }
    let title_h = 36.0;
    let (w, h) = (x1 - x0 + 2.0 * pad, y1 - y0 + 2.0 * pad + title_h);
    let (ox, oy) = (pad - x0, pad - y0 + title_h);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w:.0}\" height=\"{h:.0}\" viewBox=\"0 0 {w:.1} {h:.1}\" font-family=\"system-ui, -apple-system, 'Segoe UI', sans-serif\">\n\
<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#64748b\"/></marker></defs>\n\
<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n\
<text x=\"{pad}\" y=\"{:.1}\" font-size=\"20\" font-weight=\"600\" fill=\"#0f172a\">{}</text>\n",
        pad + 4.0,
        esc(title)
    );
    for e in &layout.edges {
        if e.from >= layout.nodes.len() || e.to >= layout.nodes.len() {
            continue;
        }
        // The app's own route (`layout/route.rs`): the same curves, loops
        // and detours around boxes as on the canvas.
        let route = layout.route(e.from, e.to, Some(e.kind));
        let mut d = String::new();
        for (k, c) in route.pieces().iter().enumerate() {
            if k == 0 {
                d += &format!("M{:.1},{:.1}", c[0].0 + ox, c[0].1 + oy);
            }
            d += &format!(
                " C{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}",
                c[1].0 + ox,
                c[1].1 + oy,
                c[2].0 + ox,
                c[2].1 + oy,
                c[3].0 + ox,
                c[3].1 + oy
            );
        }
        let dash = match e.kind {
            EdgeKind::Flow => "",
            EdgeKind::DeadLetter => " stroke-dasharray=\"7 5\"",
            EdgeKind::Retry | EdgeKind::Requeue => " stroke-dasharray=\"3 4\"",
            EdgeKind::Alternate => " stroke-dasharray=\"10 4 2 4\"",
        };
        let colour = match e.kind {
            EdgeKind::DeadLetter => "#a855f7",
            EdgeKind::Retry | EdgeKind::Requeue => "#f59e0b",
            _ => "#64748b",
        };
        s += &format!(
            "<path d=\"{d}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"{dash} marker-end=\"url(#arrow)\"/>\n"
        );
    }
    for l in &layout.labels {
        let Some(e) = layout.edges.get(l.edge) else {
            continue;
        };
        let r = &l.rect;
        s += &format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"4\" fill=\"#f8fafc\" stroke=\"#cbd5e1\"/>\n",
            r.x0 + ox, r.y0 + oy, r.x1 - r.x0, r.y1 - r.y0
        );
        let line_h = (r.y1 - r.y0) / e.label.len().max(1) as f64;
        for (k, text) in e.label.iter().enumerate() {
            s += &format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"{:.1}\" text-anchor=\"middle\" dominant-baseline=\"central\" fill=\"#334155\">{}</text>\n",
                (r.x0 + r.x1) / 2.0 + ox,
                r.y0 + oy + line_h * (k as f64 + 0.5),
                (line_h * 0.7).clamp(9.0, 16.0),
                esc(text)
            );
        }
    }
    for n in &layout.nodes {
        let r = n.rect();
        let c = kind_colour(n.kind);
        s += &format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"8\" fill=\"#ffffff\" stroke=\"{c}\" stroke-width=\"2\"/>\n\
<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" font-weight=\"700\" letter-spacing=\"0.06em\" fill=\"{c}\">{}</text>\n\
<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"17\" font-weight=\"600\" fill=\"#0f172a\">{}</text>\n",
            r.x0 + ox, r.y0 + oy, r.x1 - r.x0, r.y1 - r.y0,
            r.x0 + ox + 10.0, r.y0 + oy + 16.0, esc(n.tag.as_deref().unwrap_or(kind_word(n.kind))),
            r.x0 + ox + 10.0, r.y0 + oy + 36.0, esc(&n.id)
        );
    }
    s += "</svg>\n";
    s
}
