//! The picture's type sizes and spacing (normal and presenter), and the
//! size of each node box, computed from the text it will hold so nothing
//! has to be cut when drawn.

use super::text::text_w;
use crate::engine::NodeKind;
use crate::scenario::Scenario;

/// Type sizes and spacing of the picture [layout units].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Style {
    /// Node name.
    pub title_px: f64,
    /// Node detail lines and kind tag.
    pub small_px: f64,
    /// Edge (binding) labels.
    pub label_px: f64,
    /// Inner padding of a node box.
    pub pad: f64,
    /// Least horizontal gap between columns.
    pub gap_min: f64,
    /// Vertical gap between nodes of one column.
    pub row_gap: f64,
    pub node_min_w: f64,
    /// A column with more nodes than this draws them compact: one row, the
    /// name on the left and one number on the right.
    pub dense_rows: usize,
    /// Boxes are sized for their first, most important detail words only
    /// (presenter mode: the rest is dropped where it does not fit, never cut).
    pub brief: bool,
}

/// The normal desktop picture.
pub const NORMAL: Style = Style {
    title_px: 15.0,
    small_px: 12.0,
    label_px: 12.5,
    pad: 10.0,
    gap_min: 56.0,
    row_gap: 28.0,
    node_min_w: 110.0,
    dense_rows: 6,
    brief: false,
};

/// Presenter mode: fewer, larger words for a room.
pub const PRESENTER: Style = Style {
    title_px: 34.0,
    small_px: 15.0,
    label_px: 17.0,
    pad: 9.0,
    gap_min: 40.0,
    row_gap: 22.0,
    node_min_w: 100.0,
    dense_rows: 6,
    brief: true,
};

/// Where the rows of a node's content sit, from its top edge [layout units].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NodeRows {
    pub compact: bool,
    /// Kind tag ("QUEUE"); absent when compact.
    pub tag_y: f64,
    pub tag_px: f64,
    pub title_y: f64,
    /// First detail line; further lines follow every `line_h`.
    pub detail_y: f64,
    pub line_h: f64,
    /// Queue fill bar.
    pub bar_h: f64,
    /// Queue message squares.
    pub sq: f64,
    /// Consumer instance dots: radius and pitch.
    pub dot_r: f64,
    pub dot_step: f64,
}

impl Style {
    pub fn rows(&self, compact: bool) -> NodeRows {
        let tag_px = self.small_px * 0.8;
        let tag_y = self.pad * 0.55;
        let title_y = if compact {
            self.pad * 0.45
        } else {
            tag_y + tag_px + 3.0
        };
        NodeRows {
            compact,
            tag_y,
            tag_px,
            title_y,
            // Compact: the detail shares the title's row, baselines aligned.
            detail_y: if compact {
                title_y + (self.title_px - self.small_px) * 0.8
            } else {
                title_y + self.title_px * 1.15 + 3.0
            },
            line_h: self.small_px * 1.3,
            bar_h: self.small_px * 0.55,
            sq: self.small_px * 0.6,
            dot_r: self.small_px * 0.48,
            dot_step: self.small_px * 1.45,
        }
    }

    /// Room above/below the nodes for retry and back loops.
    pub fn loop_room(&self) -> f64 {
        34.0 + self.label_px * 1.4
    }

    /// Size of one line of label text [layout units].
    pub fn label_line_h(&self) -> f64 {
        self.label_px * 1.25
    }
}

/// The worst-case detail lines of a node, used to size it so that the live
/// numbers (up to five digits) fit without cutting text.
pub(super) fn detail_templates(
    cfg: &Scenario,
    kind: NodeKind,
    index: usize,
    compact: bool,
    brief: bool,
) -> Vec<String> {
    if brief && !compact {
        if let Some(t) = brief_templates(cfg, kind, index) {
            return t;
        }
    }
    match kind {
        NodeKind::Producer => producer_template(cfg, index),
        NodeKind::Exchange => {
            let k = cfg
                .exchanges
                .get(index)
                .map(|x| format!("{:?}", x.kind).to_ascii_lowercase())
                .unwrap_or_default();
            if compact {
                vec!["88888 routed".into()]
            } else {
                vec![format!("{k} · routed 88888")]
            }
        }
        NodeKind::Queue => {
            let ttl = cfg.queues.get(index).is_some_and(|q| q.ttl.is_some());
            let sqs = cfg.queues.get(index).is_some_and(|q| q.sqs.is_some());
            if compact {
                vec!["8888 ready".into()]
            } else if sqs {
                vec!["visible 8888 · next 88.8 s".into()]
            } else if ttl {
                vec!["ready 8888 · TTL 88 ms".into()]
            } else {
                vec!["ready 8888 · unacked 88".into()]
            }
        }
        NodeKind::Consumer => {
            if compact {
                vec!["88888 done".into()]
            } else {
                vec![
                    "88/88 busy · 88 held".into(),
                    "done 88888 · failed 8888".into(),
                ]
            }
        }
        NodeKind::Topic => {
            if compact {
                vec!["88888 appended".into()]
            } else {
                vec!["8888 partitions · appended 888888".into()]
            }
        }
        NodeKind::Group => {
            if compact {
                vec!["lag 88888".into()]
            } else {
                vec![
                    "lag 88888 · done 888888".into(),
                    "rebalancing · gen 888".into(),
                ]
            }
        }
        // A Redis consumer group: its counts, then a dot and a name per
        // consumer with what it has pending (`render::members`).
        NodeKind::RedisGroup if !compact => {
            let n = cfg
                .redis_groups
                .get(index)
                .map_or(1, |g| g.consumers.clamp(1, 4)) as usize;
            let dots: String = (0..n)
                .map(|c| format!("○ c{c} down · 88 pending   "))
                .collect();
            vec!["pending 8888 · lag 8888 · claimed 888".into(), dots]
        }
        // Other Redis nodes: one line of text (see `NodeView::redis_text`).
        NodeKind::RedisPubSub
        | NodeKind::RedisSubscriber
        | NodeKind::RedisStream
        | NodeKind::RedisGroup => {
            if compact {
                vec!["88888 handled".into()]
            } else {
                vec!["away · buf 1023 KB · missed 8888 · lost 8888".into()]
            }
        }
        // Pulsar nodes: one line (see `NodeView::pulsar_text`).
        NodeKind::PulsarTopic => {
            if compact {
                vec!["88888 stored".into()]
            } else {
                vec!["888 partitions · stored 88888 · held 8888".into()]
            }
        }
        // Counts, then one dot and name per consumer, then (Key_Shared) the
        // slot bar: see `render::pulsar`.
        NodeKind::PulsarSubscription => {
            if compact {
                return vec!["backlog 88888".into()];
            }
            let sub = cfg.pulsar_subscriptions.get(index);
            let n = sub.map_or(1, |x| x.consumers.min(12)) as usize;
            // "active" is written on failover only, on one consumer;
            // "blocked" on any consumer of a subscription whose scenario
            // sets a per-consumer cap on unacknowledged messages (the
            // broker's default of 50,000 is not what a scenario shows).
            let capped = sub.is_some_and(|x| x.max_unacked_per_consumer.is_some_and(|c| c > 0));
            let word = if capped { " blocked" } else { "" };
            let dots: String = (0..n)
                .map(|c| format!("○ c{c}{word}    "))
                .collect::<String>()
                + "active";
            let mut v = vec!["backlog 88888 · unacked 8888".into(), dots];
            if sub.is_some_and(|x| x.kind == crate::scenario::SubscriptionType::KeyShared) {
                v.push("slots c0 c1 c2 c3".into());
            }
            v
        }
    }
}

/// A producer's detail line; with a priority queue in the scenario it also
/// shows its messages' mean time to ack (`render::nodes`), so its box is
/// sized for both.
fn producer_template(cfg: &Scenario, index: usize) -> Vec<String> {
    let prioritised =
        index < cfg.producers.len() && cfg.queues.iter().any(|q| q.max_priority.is_some());
    vec![if prioritised {
        "rate 888.8/s · mean 888 ms"
    } else {
        "rate 888.8/s"
    }
    .into()]
}

/// Presenter mode's detail lines: the words a room reads (the renderer
/// drops the rest where they do not fit; `None`: as in the normal picture).
fn brief_templates(cfg: &Scenario, kind: NodeKind, index: usize) -> Option<Vec<String>> {
    Some(match kind {
        NodeKind::Producer => producer_template(cfg, index),
        NodeKind::Exchange => {
            let k = cfg.exchanges.get(index).map(|x| format!("{:?}", x.kind));
            vec![k.unwrap_or_default().to_ascii_lowercase()]
        }
        NodeKind::Queue => {
            let sqs = cfg.queues.get(index).is_some_and(|q| q.sqs.is_some());
            vec![if sqs { "visible 8888" } else { "ready 8888" }.into()]
        }
        NodeKind::Consumer => vec!["88/88 busy".into(), "done 88888".into()],
        NodeKind::RedisPubSub
        | NodeKind::RedisSubscriber
        | NodeKind::RedisStream
        | NodeKind::RedisGroup => vec!["88888 published".into()],
        NodeKind::PulsarTopic => vec!["88888 stored".into()],
        _ => return None,
    })
}

/// Size of a node box [layout units]: as wide as its name, its widest
/// detail line and its kind tag (`tag`, when the configuration says more
/// than the kind's own word: "CONSUMER · PRIORITY 10"; a queue's tag row
/// also holds "max N" on the right), as tall as its rows.
pub fn node_size(
    style: &Style,
    kind: NodeKind,
    id: &str,
    tag: Option<&str>,
    details: &[String],
    instances: u32,
    compact: bool,
) -> (f64, f64) {
    let r = style.rows(compact);
    let title_w = text_w(id, style.title_px, true);
    if compact {
        let detail_w = details
            .iter()
            .map(|d| text_w(d, style.small_px, false))
            .fold(0.0, f64::max);
        let w = style
            .node_min_w
            .max(title_w + 12.0 + detail_w + 2.0 * style.pad);
        let h = r.title_y * 2.0 + style.title_px * 1.2;
        return (w.ceil(), h.ceil());
    }
    let mut w = style.node_min_w.max(title_w + 2.0 * style.pad);
    for d in details {
        w = w.max(text_w(d, style.small_px, false) + 2.0 * style.pad);
    }
    // The kind tag on its row; a queue's has "max 88888" on the right.
    let mut tags = text_w(tag.unwrap_or("QUEUE"), r.tag_px, true);
    if kind == NodeKind::Queue {
        tags += text_w("max 88888", r.tag_px, false) + 12.0;
    }
    if kind == NodeKind::Queue || tag.is_some() {
        w = w.max(tags + 2.0 * style.pad);
    }
    let lines = details.len() as f64;
    let base = r.detail_y + lines * r.line_h;
    let h = match kind {
        NodeKind::Producer
        | NodeKind::Exchange
        | NodeKind::Topic
        | NodeKind::Group
        | NodeKind::RedisPubSub
        | NodeKind::RedisSubscriber
        | NodeKind::RedisStream
        | NodeKind::RedisGroup
        | NodeKind::PulsarTopic
        | NodeKind::PulsarSubscription => base + style.pad * 0.35,
        NodeKind::Queue => base + 2.0 + r.bar_h + 5.0 + r.sq + style.pad * 0.6,
        NodeKind::Consumer => {
            let rows = consumer_dot_rows(style, w, instances) as f64;
            base + rows * r.dot_step + style.pad * 0.3
        }
    };
    (w.ceil(), h.ceil())
}

/// Instance dots per row of a consumer box of width `w`.
pub fn dots_per_row(style: &Style, w: f64) -> usize {
    let r = style.rows(false);
    (((w - 2.0 * style.pad) / r.dot_step).floor() as usize).max(1)
}

/// Rows of instance dots (a single text row past 24 instances).
pub fn consumer_dot_rows(style: &Style, w: f64, instances: u32) -> usize {
    if instances > 24 {
        1
    } else {
        (instances.max(1) as usize).div_ceil(dots_per_row(style, w))
    }
}
