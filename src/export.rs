//! Exports that need no browser: the time series as CSV.
//!
//! One row per sample of the engine's bounded time series (`SeriesPoint`),
//! in time order; cumulative counters as they were at the sample, levels
//! (in flight, ready and unacked per queue) at that instant, and the
//! end-to-end latency of the interval that ends at the sample. Columns are
//! fixed by the scenario (one `depth:`/`unacked:` pair per queue, then one
//! `lag:` per consumer group and one `backlog:` per Pulsar subscription, in
//! scenario order), so the same scenario, seed and commands give the same file.
//! Used by `queuelab export csv` and by the app's CSV download.

use crate::engine::SeriesPoint;
use crate::scenario::Scenario;
use std::fmt::Write;

fn field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The series as CSV text (header line included).
pub fn series_csv(scenario: &Scenario, points: &[SeriesPoint]) -> String {
    let mut out = String::from(
        "t_s,published,processed,completed,retried,dead_lettered,expired,dropped,in_flight,latency_p50_ms,latency_p99_ms,latency_mean_ms",
    );
    for q in &scenario.queues {
        let _ = write!(
            out,
            ",{},{}",
            field(&format!("depth:{}", q.id)),
            field(&format!("unacked:{}", q.id))
        );
    }
    for g in &scenario.consumer_groups {
        let _ = write!(out, ",{}", field(&format!("lag:{}", g.id)));
    }
    for s in &scenario.pulsar_subscriptions {
        let _ = write!(out, ",{}", field(&format!("backlog:{}", s.id)));
    }
    out.push('\n');
    // The series keeps the groups' lag, then the subscriptions' backlogs.
    let levels = scenario.consumer_groups.len() + scenario.pulsar_subscriptions.len();
    for p in points {
        let _ = write!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{}",
            p.t_us as f64 / 1e6,
            p.published,
            p.processed,
            p.completed,
            p.retried,
            p.dead_lettered,
            p.expired,
            p.dropped,
            p.in_flight,
            p.latency_p50_us as f64 / 1e3,
            p.latency_p99_us as f64 / 1e3,
            p.latency_mean_us as f64 / 1e3,
        );
        for k in 0..scenario.queues.len() {
            let d = p.depth.get(k).copied().unwrap_or(0);
            let u = p.unacked.get(k).copied().unwrap_or(0);
            let _ = write!(out, ",{d},{u}");
        }
        for k in 0..levels {
            let _ = write!(out, ",{}", p.group_lag.get(k).copied().unwrap_or(0));
        }
        out.push('\n');
    }
    out
}
