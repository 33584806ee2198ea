//! Geometry of the log-based boxes: a topic drawn as stacked partition strips
//! and a consumer group drawn as a column of member rows. Pure numbers in
//! layout units, shared by the layout (box sizes) and the renderer (where each
//! strip, cell, lane and member row sits), so what the layout sized is what
//! the renderer fills.
//!
//!   TOPIC box                                   GROUP box
//!   ┌──────────────────────────────────┐        ┌──────────────────────┐
//!   │ TOPIC / name / detail line        │        │ GROUP / name  [badge]│
//!   │ P0  ▮▮▯▮▮▮▮▮▮▮▮▮▮▮▮▮│▮▮▮   0–531  │───────►● #0 · P0 P4 P8     │
//!   │     ══lag lane per group══        │        ● #1 · P1 P5 P9      │
//!   │ P1  …                             │        ○ #3 idle: no partition│
//!   └──────────────────────────────────┘        └──────────────────────┘
//!
//! Bounds: at most `STRIP_CELLS` cells per strip (the newest offsets), at
//! most `STRIPS_MAX` strips per topic and `MEMBER_ROWS_MAX` member rows per
//! group; past those a "+N more" row says what is not drawn.

use super::style::Style;
use super::text::text_w;
use crate::scenario::{Command, Scenario};

/// Newest offsets drawn as cells on one strip.
pub const STRIP_CELLS: usize = 40;
/// Cells per strip in presenter mode (`Style::brief`).
pub const STRIP_CELLS_BRIEF: usize = 24;
/// Partition strips drawn per topic; more partitions get a "+N more" row.
pub const STRIPS_MAX: usize = 16;
/// Member rows drawn per group; more members get a "+N more" row.
pub const MEMBER_ROWS_MAX: usize = 8;
/// Group lanes drawn under a strip at most (groups past this draw no lane).
pub const LANES_MAX: usize = 4;

/// Space between two lag lanes [layout units].
pub const LANE_GAP: f64 = 0.75;

/// Where the parts of a topic box sit [layout units, from the box's top-left].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StripGeom {
    /// Top of the first strip.
    pub top: f64,
    /// Width of the "P11" label column.
    pub label_w: f64,
    pub cell_w: f64,
    pub cell_h: f64,
    /// Height of one group's lag lane under the cells.
    pub lane_h: f64,
    /// Strip pitch: cells, lanes, gap.
    pub pitch: f64,
    /// Width of the "start–end" offsets column on the right.
    pub end_w: f64,
    /// Lanes per strip (groups reading the topic, at most `LANES_MAX`).
    pub lanes: usize,
    /// Cells per strip: the newest offsets shown.
    pub cells: usize,
    /// Strips drawn; `more` is true when a "+N more" row follows.
    pub strips: usize,
    pub more: bool,
    /// Offset numbers' type size.
    pub num_px: f64,
}

impl StripGeom {
    /// `replicated`: the offsets column also says the partition's ISR
    /// (`0–284 · ISR 2/3`).
    pub fn new(style: &Style, partitions: usize, lanes: usize, replicated: bool) -> StripGeom {
        let r = style.rows(false);
        let num_px = style.small_px * 0.85;
        let cell_h = (style.small_px * 0.85).round();
        let lane_h = (style.small_px * 0.24).max(2.5);
        let lanes = lanes.min(LANES_MAX);
        StripGeom {
            // Presenter mode leaves out the detail line ("3 partitions ·
            // cell colour = key": the strips and the legend say it).
            top: if style.brief {
                r.detail_y + 2.0
            } else {
                r.detail_y + r.line_h + 4.0
            },
            label_w: text_w("P88", style.small_px, true) + 6.0,
            cell_w: (style.small_px * 0.62).round(),
            cell_h,
            lane_h,
            pitch: cell_h + lanes as f64 * (lane_h + LANE_GAP) + style.small_px * 0.35,
            end_w: text_w(
                if replicated {
                    "88888–88888 · ISR 8/8"
                } else {
                    "88888–88888"
                },
                num_px,
                false,
            ) + 8.0,
            lanes,
            // Presenter mode shows the newest 24 offsets: fewer, larger cells
            // leave the room to the names.
            cells: if style.brief {
                STRIP_CELLS_BRIEF
            } else {
                STRIP_CELLS
            },
            strips: partitions.min(STRIPS_MAX),
            more: partitions > STRIPS_MAX,
            num_px,
        }
    }
    /// Width of the cells area.
    pub fn cells_w(&self) -> f64 {
        self.cells as f64 * self.cell_w
    }
    /// Left edge of the cells, from the box's left.
    pub fn cells_x(&self, style: &Style) -> f64 {
        style.pad + self.label_w
    }
    /// Top of strip `k`, from the box's top.
    pub fn strip_y(&self, k: usize) -> f64 {
        self.top + k as f64 * self.pitch
    }
    /// Vertical centre of strip `k`'s cell row, from the box's top.
    pub fn strip_cy(&self, k: usize) -> f64 {
        self.strip_y(k) + self.cell_h / 2.0
    }
    /// The box size this geometry needs.
    pub fn size(&self, style: &Style) -> (f64, f64) {
        let w = 2.0 * style.pad + self.label_w + self.cells_w() + self.end_w;
        let rows = self.strips as f64 + if self.more { 0.8 } else { 0.0 };
        let h = self.top + rows * self.pitch + style.pad * 0.5;
        (w.ceil(), h.ceil())
    }
}

/// The widest lag text a group's title row holds.
pub const LAG_TEMPLATE: &str = "lag 88888";

/// Where the member rows of a group box sit [layout units].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MemberGeom {
    /// Top of the first member row, from the box's top.
    pub top: f64,
    pub row_h: f64,
    /// Member rows the box holds (the last becomes "+N more" when needed).
    pub rows: usize,
    pub dot_r: f64,
}

impl MemberGeom {
    pub fn new(style: &Style, members: usize) -> MemberGeom {
        let r = style.rows(false);
        // The lag sits on the title row, so member rows start under the title.
        MemberGeom {
            top: r.detail_y + 1.0,
            row_h: (style.small_px * 1.12).max(r.dot_r * 1.7 + 2.0),
            rows: members.clamp(1, MEMBER_ROWS_MAX),
            dot_r: r.dot_r * 0.85,
        }
    }
    /// Vertical centre of member row `k`, from the box's top.
    pub fn row_cy(&self, k: usize) -> f64 {
        self.top + (k.min(self.rows - 1) as f64 + 0.5) * self.row_h
    }
    pub fn size(&self, style: &Style, title: &str) -> (f64, f64) {
        let mut w = style
            .node_min_w
            .max(text_w(title, style.title_px, true) + 2.0 * style.pad);
        // Title row: name plus the "rebalancing" badge on its right.
        w = w.max(
            text_w(title, style.title_px, true)
                + text_w("REBALANCING", style.small_px * 0.8, true)
                + 16.0
                + 2.0 * style.pad,
        );
        // Title row: name, then "lag 88888" on the right.
        w = w.max(
            text_w(title, style.title_px, true)
                + 12.0
                + text_w(LAG_TEMPLATE, style.small_px, false)
                + 2.0 * style.pad,
        );
        let row = text_w("#88 idle: no partition", style.small_px, false) + 2.0 * self.dot_r + 8.0;
        w = w.max(row + 2.0 * style.pad);
        let h = self.top + self.rows as f64 * self.row_h + style.pad * 0.5;
        (w.ceil(), h.ceil())
    }
}

/// Groups (indices into `consumer_groups`) that read topic `t`, in scenario order.
pub fn readers(cfg: &Scenario, topic: &str) -> Vec<usize> {
    cfg.consumer_groups
        .iter()
        .enumerate()
        .filter(|(_, g)| g.topics.iter().any(|x| x == topic))
        .map(|(i, _)| i)
        .collect()
}

/// Members a group box is sized for: its members now, at the start, or after
/// every scheduled join, whichever is most (so the box does not jump).
pub fn members_planned(cfg: &Scenario, g: usize, now: usize) -> usize {
    let Some(gc) = cfg.consumer_groups.get(g) else {
        return now;
    };
    let joins = cfg
        .schedule
        .iter()
        .filter(|c| matches!(&c.command, Command::AddMember { group } if *group == gc.id))
        .count();
    now.max(gc.members as usize + joins)
}

/// Partitions a topic box is sized for: now, or after a scheduled increase.
pub fn partitions_planned(cfg: &Scenario, t: usize, now: usize) -> usize {
    let Some(tc) = cfg.topics.get(t) else {
        return now;
    };
    let planned = cfg
        .schedule
        .iter()
        .filter_map(|c| match &c.command {
            Command::IncreasePartitions { topic, partitions } if *topic == tc.id => {
                Some(*partitions as usize)
            }
            _ => None,
        })
        .max()
        .unwrap_or(0);
    now.max(tc.partitions as usize).max(planned)
}
