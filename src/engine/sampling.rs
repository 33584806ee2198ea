//! The time series' sampling (split from `core.rs`): every
//! `sample_interval` the `Sample` event takes one point of counters, levels
//! (queue depth and unacked, SQS visible and in flight, Kafka group lag,
//! Pulsar subscription backlog) and the interval's latency.
//!
//!   Sample ──on_sample──► series.offer(point) (only when the series keeps it) ──► next Sample
//!
//! Nothing is built or allocated when the series is off or thins this point.

use super::core::{Engine, Event};
use super::metrics::SeriesPoint;

impl Engine {
    /// The time series: a point only when the series is on and keeps it
    /// (nothing is built or allocated otherwise), then the next sample.
    pub(crate) fn on_sample(&mut self) {
        if self.series_on {
            if self.series.wants_next() {
                let p = self.sample_point();
                self.series.offer(p);
            } else {
                self.series.skip();
            }
        }
        self.interval
            .reset(self.series_on && self.series.wants_next());
        let every = self.cfg.sample_interval.us().max(1);
        self.agenda.schedule(self.now.after(every), Event::Sample);
    }

    /// The time series closed at the current time: when the run stopped
    /// between two samples (a duration or `--until` that is not a multiple
    /// of `sample_interval`, or `--max-events`), one more point, taken now,
    /// so the last row is the run's end state (`queuelab export csv`).
    /// The interval latency of that point covers the partial interval.
    pub fn series_to_now(&mut self) -> Vec<SeriesPoint> {
        let mut points = self.series.points().to_vec();
        if self.series_on && points.last().is_none_or(|p| p.t_us < self.now.0) {
            points.push(self.sample_point());
        }
        points
    }

    fn sample_point(&mut self) -> SeriesPoint {
        // An SQS queue's visible (and delayed) messages count as its depth,
        // its in-flight ones as unacked.
        let depth = (0..self.queues.len() as u32)
            .map(|q| {
                self.sqs_depths(q)
                    .map_or(self.queues[q as usize].ready.len() as u32, |d| d.0)
            })
            .collect();
        let unacked = (0..self.queues.len() as u32)
            .map(|q| {
                self.sqs_depths(q)
                    .map_or_else(|| self.queue_unacked(q), |d| d.1)
            })
            .collect();
        SeriesPoint {
            t_us: self.now.0,
            published: self.totals.published,
            processed: self.totals.processed,
            completed: self.totals.completed,
            retried: self.totals.retried,
            dead_lettered: self.totals.dead_lettered,
            expired: self.totals.expired,
            dropped: self.totals.dropped,
            in_flight: self.in_flight_now(),
            depth,
            unacked,
            latency_p50_us: self.interval.quantile_us(0.5),
            latency_p99_us: self.interval.quantile_us(0.99),
            latency_mean_us: self.interval.mean_us(),
            // Kafka groups' lag, then Pulsar subscriptions' backlogs.
            group_lag: (0..self.streams.groups.len() as u32)
                .map(|g| self.group_lag(g))
                .chain(self.pulsar.subs.iter().map(|s| s.backlog))
                .collect(),
            group_rebalances: self.streams.groups.iter().map(|g| g.rebalances).collect(),
        }
    }
}
