//! The broker comparison table `queuelab compare` prints under its totals:
//! one row per lane with what was measured (`Engine::measured`), then each
//! lane's broker with its documented ordering and durability promise
//! (`scenario::BrokerKind::promise`) beside the numbers that test it.
//!
//!   lanes (name, scenario, Measured) ──table──► text
//!
//! Cells a lane cannot have (SQS requests on a non-SQS lane, a latency
//! before the first effect) print `–`.

use crate::engine::Measured;
use crate::scenario::{BrokerKind, Scenario};

/// One lane as the table needs it.
pub(super) struct LaneRow<'a> {
    pub name: &'a str,
    pub scenario: &'a Scenario,
    pub measured: Measured,
}

const NONE: &str = "–";

/// The table: a header, one row per lane, then the promises.
pub(super) fn table(lanes: &[LaneRow]) -> String {
    let ms = |us: Option<u64>| us.map_or(NONE.to_string(), |u| format!("{:.1}", u as f64 / 1000.0));
    let header = [
        "lane",
        "broker",
        "delivered",
        "lost",
        "duplicated",
        "out of order",
        "p50 ms",
        "p99 ms",
        "backlog",
        "requests",
    ];
    let rows: Vec<Vec<String>> = lanes
        .iter()
        .map(|l| {
            let m = &l.measured;
            vec![
                l.name.to_string(),
                BrokerKind::label_of(l.scenario),
                m.delivered.to_string(),
                m.lost.to_string(),
                m.duplicated.to_string(),
                m.out_of_order.to_string(),
                ms(m.p50_us),
                ms(m.p99_us),
                m.backlog.to_string(),
                m.requests.map_or(NONE.to_string(), |r| r.to_string()),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([header[c].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| -> String {
        let mut s = String::new();
        for (c, cell) in cells.iter().enumerate() {
            let pad = widths[c].saturating_sub(cell.chars().count());
            if c < 2 {
                // Names left-aligned, numbers right-aligned.
                s.push_str(cell);
                s.push_str(&" ".repeat(pad));
            } else {
                s.push_str(&" ".repeat(pad));
                s.push_str(cell);
            }
            s.push_str("  ");
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = String::from("\nbroker comparison (measured)\n");
    out.push_str(&line(
        &header.iter().map(|h| h.to_string()).collect::<Vec<_>>(),
    ));
    for r in &rows {
        out.push_str(&line(r));
    }
    out.push_str("\npromised (the brokers' documentation) vs measured\n");
    for l in lanes {
        let m = &l.measured;
        for k in BrokerKind::of(l.scenario) {
            let (order, durability) = k.promise();
            out.push_str(&format!("{} ({})\n", l.name, k.label()));
            out.push_str(&format!(
                "  order:      {order}\n              measured: {} out of order\n",
                m.out_of_order
            ));
            out.push_str(&format!(
                "  durability: {durability}\n              measured: {} lost, {} duplicated\n",
                m.lost, m.duplicated
            ));
        }
    }
    out
}
