//! Metrics: counters, latency histograms and a bounded time series.
//!
//!   world events ──► Totals (counters) ──┐
//!   latencies    ──► Latency (HDR + exact sum) ──► Report / Snapshot / charts
//!   every sample_interval ──► Series (bounded: halves its resolution when full)
//!
//! Cost: a sample the series will not keep (its stride skips it, or the
//! series is switched off) builds nothing and allocates nothing, and the
//! interval latencies feeding it are only recorded when the coming sample
//! will be kept (`WindowLatency::active`).
//!
//! Memory is bounded whatever the run length: histograms have a fixed range
//! (1 us to 1 day, values above are clamped and counted), the series keeps at
//! most `SERIES_POINTS_MAX` points by merging neighbours.

use hdrhistogram::Histogram;
use serde::Serialize;

/// Largest latency the histograms resolve; longer ones are clamped (and counted).
pub const LATENCY_US_MAX: u64 = 24 * 3600 * 1_000_000;
/// Points kept in a time series before it halves its resolution.
pub const SERIES_POINTS_MAX: usize = 2048;

/// A latency distribution: exact count, sum, min and max, and an HDR histogram
/// (two significant digits) for percentiles.
#[derive(Clone, Debug)]
pub struct Latency {
    hist: Histogram<u64>,
    count: u64,
    sum_us: u128,
    max_us: u64,
    clamped: u64,
    batches: BatchMeans,
}

/// Batch means for a confidence interval on the mean (the standard method
/// for one long run of correlated samples: consecutive samples are averaged
/// in batches long enough that the batch means are nearly independent).
/// Bounded: fewer than `BATCHES_MAX` batch means are kept; the batch that
/// fills them makes neighbours averaged in pairs and the batch size double, so the batches always
/// cover the whole run. The first eighth of the batches is discarded as the
/// warm-up (the empty-system start) when the interval is computed.
#[derive(Clone, Debug)]
pub struct BatchMeans {
    size: u64,
    cur_sum: f64,
    cur_n: u64,
    means: Vec<f64>,
}

const BATCHES_MAX: usize = 64;
const BATCH_SIZE_FIRST: u64 = 8;

impl Default for BatchMeans {
    fn default() -> Self {
        BatchMeans {
            size: BATCH_SIZE_FIRST,
            cur_sum: 0.0,
            cur_n: 0,
            means: Vec::new(),
        }
    }
}

impl BatchMeans {
    #[inline(always)]
    fn record(&mut self, us: u64) {
        self.cur_sum += us as f64;
        self.cur_n += 1;
        if self.cur_n == self.size {
            self.close_batch();
        }
    }

    #[cold]
    fn close_batch(&mut self) {
        self.means.push(self.cur_sum / self.size as f64);
        self.cur_sum = 0.0;
        self.cur_n = 0;
        if self.means.len() == BATCHES_MAX {
            let merged: Vec<f64> = self.means.chunks(2).map(|p| (p[0] + p[1]) / 2.0).collect();
            self.means = merged;
            self.size *= 2;
        }
    }

    /// The 95% interval from the kept batches, once there are at least 10
    /// batches after the warm-up.
    pub fn interval(&self) -> Option<MeanInterval> {
        let warm = self.means.len().div_ceil(8);
        let kept = &self.means[warm.min(self.means.len())..];
        let m = kept.len();
        if m < 10 {
            return None;
        }
        let mean = kept.iter().sum::<f64>() / m as f64;
        let var = kept.iter().map(|b| (b - mean) * (b - mean)).sum::<f64>() / (m - 1) as f64;
        Some(MeanInterval {
            mean: (mean * 10.0).round() / 10.0,
            half_width: (t975(m - 1) * (var / m as f64).sqrt() * 10.0).round() / 10.0,
            batches: m as u32,
            batch_size: self.size,
            warmup_samples: warm as u64 * self.size,
        })
    }
}

/// A mean with its 95% confidence half-width (batch means), in µs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct MeanInterval {
    /// Mean of the samples after the warm-up.
    pub mean: f64,
    pub half_width: f64,
    pub batches: u32,
    pub batch_size: u64,
    /// Samples discarded at the start (the first eighth of the batches).
    pub warmup_samples: u64,
}

/// Student's t 0.975 quantile for `df` degrees of freedom: the table up to
/// 30, past it the Cornish-Fisher expansion around the normal quantile
/// (Abramowitz & Stegun 26.7.5; within 1e-4 of the exact value from 30 on,
/// e.g. 2.0066 at 52, 1.9799 at 120), plain arithmetic so every platform
/// gives the same digits.
pub fn t975(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::NAN,
        1..=30 => T[df - 1],
        _ => {
            const Z: f64 = 1.959_963_984_540_054;
            let (z2, v) = (Z * Z, df as f64);
            let (z3, z5, z7, z9) = (Z * z2, Z * z2 * z2, Z * z2 * z2 * z2, Z * z2 * z2 * z2 * z2);
            let g1 = (z3 + Z) / 4.0;
            let g2 = (5.0 * z5 + 16.0 * z3 + 3.0 * Z) / 96.0;
            let g3 = (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * Z) / 384.0;
            let g4 = (79.0 * z9 + 776.0 * z7 + 1482.0 * z5 - 1920.0 * z3 - 945.0 * Z) / 92160.0;
            Z + g1 / v + g2 / (v * v) + g3 / (v * v * v) + g4 / (v * v * v * v)
        }
    }
}

impl Default for Latency {
    fn default() -> Self {
        Latency {
            hist: Histogram::new_with_bounds(1, LATENCY_US_MAX, 2)
                .expect("static histogram bounds are valid"),
            count: 0,
            sum_us: 0,
            max_us: 0,
            clamped: 0,
            batches: BatchMeans::default(),
        }
    }
}

/// Summary of a latency distribution, in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct LatencySummary {
    pub count: u64,
    pub mean: f64,
    pub p50: u64,
    pub p95: u64,
    pub p99: u64,
    pub max: u64,
    /// 95% confidence interval of the mean by batch means, when the run had
    /// enough samples (at least 10 batches after the warm-up).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_ci95: Option<MeanInterval>,
}

impl Latency {
    /// Inlined: it runs twice per message (wait and end-to-end).
    #[inline(always)]
    pub fn record(&mut self, us: u64) {
        self.count += 1;
        self.sum_us += us as u128;
        if us > self.max_us {
            self.max_us = us;
        }
        let v = if us > LATENCY_US_MAX {
            self.clamped += 1;
            LATENCY_US_MAX
        } else {
            us.max(1)
        };
        // Cannot fail: v is inside the histogram's bounds.
        let _ = self.hist.record(v);
        self.batches.record(us);
    }
    pub fn count(&self) -> u64 {
        self.count
    }
    pub fn mean_us(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum_us as f64 / self.count as f64
        }
    }
    pub fn quantile_us(&self, q: f64) -> u64 {
        if self.count == 0 {
            0
        } else {
            self.hist.value_at_quantile(q).min(self.max_us)
        }
    }
    pub fn summary(&self) -> LatencySummary {
        LatencySummary {
            count: self.count,
            mean: (self.mean_us() * 10.0).round() / 10.0,
            p50: self.quantile_us(0.50),
            p95: self.quantile_us(0.95),
            p99: self.quantile_us(0.99),
            max: self.max_us,
            mean_ci95: self.batches.interval(),
        }
    }
    pub fn reset(&mut self) {
        self.hist.reset();
        self.count = 0;
        self.sum_us = 0;
        self.max_us = 0;
        self.clamped = 0;
        self.batches = BatchMeans::default();
    }
}

/// Latencies of one sample interval, for the p50/p99 chart lines.
///
/// Written here rather than reusing `Latency` because it is reset at every
/// sample: an HDR histogram's reset and quantile walk cost its whole bucket
/// array (about 4,000 words) each time, which measured at ~11% of engine time
/// on `mm1`. This keeps at most `WINDOW_SAMPLES_MAX` values, thinning
/// deterministically (every other value, doubling the stride) when full, and
/// selects quantiles in linear time.
#[derive(Clone, Debug, Default)]
pub struct WindowLatency {
    values: Vec<u64>,
    stride: u64,
    /// Values still to skip before the next one is kept (counts down from
    /// `stride - 1`: the same choice as `offered % stride == 0`, without a
    /// division per value).
    skip: u64,
    offered: u64,
    /// Record at all? Off while the sample this window feeds will not be kept.
    active: bool,
    /// Sum of every value offered (kept or thinned), for an exact mean.
    sum_us: u128,
}

/// Values a `WindowLatency` keeps before thinning.
pub const WINDOW_SAMPLES_MAX: usize = 4096;

impl WindowLatency {
    #[inline]
    pub fn record(&mut self, us: u64) {
        if !self.active {
            return;
        }
        self.offered += 1;
        self.sum_us += us as u128;
        if self.skip > 0 {
            self.skip -= 1;
            return;
        }
        self.keep(us);
    }

    /// Keep `us` (its turn came), thinning first if full.
    fn keep(&mut self, us: u64) {
        let stride = self.stride.max(1);
        if self.values.len() >= WINDOW_SAMPLES_MAX {
            let mut keep = false;
            self.values.retain(|_| {
                keep = !keep;
                keep
            });
            self.stride = stride * 2;
        }
        // The next value kept is the next multiple of the (maybe doubled)
        // stride after this one; strides are powers of two.
        let stride = self.stride.max(1);
        debug_assert!(stride.is_power_of_two());
        self.skip = (stride - 1) - (self.offered & (stride - 1));
        self.values.push(us);
    }
    /// The q-quantile (nearest rank) of the values kept; 0 when empty.
    pub fn quantile_us(&mut self, q: f64) -> u64 {
        if self.values.is_empty() {
            return 0;
        }
        let n = self.values.len();
        let rank = ((q * n as f64).ceil() as usize).clamp(1, n) - 1;
        *self.values.select_nth_unstable(rank).1
    }
    /// The exact mean of every value offered since the last reset, rounded
    /// to whole µs; 0 when empty.
    pub fn mean_us(&self) -> u64 {
        if self.offered == 0 {
            0
        } else {
            ((self.sum_us + self.offered as u128 / 2) / self.offered as u128) as u64
        }
    }
    /// Empty the window; `active` says whether the next one is wanted.
    pub fn reset(&mut self, active: bool) {
        self.values.clear();
        self.stride = 1;
        self.skip = 0;
        self.offered = 0;
        self.sum_us = 0;
        self.active = active;
    }
}

/// Run-wide counters. Each counts events of one kind since the start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// New messages published by producers and handlers (copies not included).
    pub published: u64,
    /// Publishes through an exchange (and dead-letter republishes) that
    /// matched at least one queue; a publish straight to a queue id (the
    /// default exchange) is not counted here.
    pub routed: u64,
    /// Publishes that matched no queue (before any alternate exchange).
    pub unroutable: u64,
    /// Extra copies made because a message matched several queues.
    pub copies: u64,
    /// Appends to a queue (first enqueue, retries and dead-letter arrivals).
    pub enqueued: u64,
    /// Deliveries to a consumer, redeliveries included.
    pub delivered: u64,
    /// Deliveries flagged as redelivered.
    pub redelivered: u64,
    /// Acks (manual after success, or automatic on delivery).
    pub acked: u64,
    /// Negative acks.
    pub nacked: u64,
    /// Processing runs that succeeded.
    pub processed: u64,
    /// Processing runs that failed.
    pub failed: u64,
    /// Retries scheduled (delayed) or sent to a retry queue: also a stream
    /// group's retries in place and records sent to a retry topic, and
    /// Pulsar's sends to a retry letter topic.
    pub retried: u64,
    /// Messages republished to a dead-letter exchange, moved to an SQS or
    /// Pulsar dead-letter queue, or appended to a Kafka dead-letter topic.
    pub dead_lettered: u64,
    /// Messages whose TTL ran out.
    pub expired: u64,
    /// Messages discarded for good, any reason.
    pub dropped: u64,
    /// Requeues after nack or crash.
    pub requeued: u64,
    /// Consumer instance crashes.
    pub crashes: u64,
    /// Channels closed because a delivery stayed unacked past its queue's
    /// `consumer_timeout` (`model::ack_timeout`). Always in the JSON, 0
    /// included, so `expect` can assert `totals.ack_timeouts == 0`.
    pub ack_timeouts: u64,
    /// Messages on their way now: in transit, queued, unacked or waiting
    /// for a retry; a stored Pulsar message or Redis stream entry once per
    /// subscription or group that has not acknowledged it, its deliveries
    /// not again (`Engine::in_flight_now`).
    pub in_flight: u64,
    /// Messages finished: processed and acked, never to be seen again.
    pub completed: u64,
    /// Payload bytes published.
    pub bytes_published: u64,
}

/// One point of the time series: counters at `t_us` and levels at that instant.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SeriesPoint {
    pub t_us: u64,
    /// Cumulative counters at t.
    pub published: u64,
    pub processed: u64,
    pub completed: u64,
    pub retried: u64,
    pub dead_lettered: u64,
    pub expired: u64,
    pub dropped: u64,
    /// Levels at t.
    pub in_flight: u64,
    /// Ready messages per queue, in queue order.
    pub depth: Vec<u32>,
    /// Unacked deliveries per queue, in queue order.
    pub unacked: Vec<u32>,
    /// End-to-end latency over the interval that ends at t (0 when none finished).
    pub latency_p50_us: u64,
    pub latency_p99_us: u64,
    /// Mean end-to-end latency over the same interval, rounded to whole µs.
    pub latency_mean_us: u64,
    /// Lag per consumer group at t (high watermark − committed, summed over its
    /// partitions), in group order; then each Pulsar subscription's backlog
    /// (unacknowledged messages), in subscription order.
    pub group_lag: Vec<u64>,
    /// Rebalances started so far per consumer group (cumulative), in group order.
    pub group_rebalances: Vec<u64>,
}

/// A bounded time series: when full, neighbouring points are merged (the
/// later one kept, since counters are cumulative and levels are instants) and
/// the stride doubles, so the whole run stays covered.
#[derive(Clone, Debug, Default)]
pub struct Series {
    points: Vec<SeriesPoint>,
    /// Keep one sample out of `stride` offered.
    stride: u64,
    offered: u64,
}

impl Series {
    pub fn new() -> Self {
        Series {
            points: Vec::new(),
            stride: 1,
            offered: 0,
        }
    }
    /// Will the next offered point be kept? (Build it only then.)
    #[inline]
    pub fn wants_next(&self) -> bool {
        (self.offered + 1) % self.stride.max(1) == 0
    }
    /// Offer a point that `wants_next` said will not be kept, without building it.
    pub fn skip(&mut self) {
        debug_assert!(!self.wants_next());
        self.offered += 1;
    }
    pub fn offer(&mut self, p: SeriesPoint) {
        self.offered += 1;
        if self.offered % self.stride.max(1) != 0 {
            return;
        }
        self.points.push(p);
        if self.points.len() >= SERIES_POINTS_MAX {
            let kept: Vec<SeriesPoint> = self.points.drain(..).skip(1).step_by(2).collect();
            self.points = kept;
            self.stride = self.stride.max(1) * 2;
        }
    }
    pub fn points(&self) -> &[SeriesPoint] {
        &self.points
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_summary_is_exact_in_mean_and_close_in_percentiles() {
        let mut l = Latency::default();
        for us in 1..=10_000u64 {
            l.record(us);
        }
        let s = l.summary();
        assert_eq!(s.count, 10_000);
        assert_eq!(s.mean, 5000.5);
        assert!((s.p50 as f64 - 5000.0).abs() / 5000.0 < 0.01, "{s:?}");
        assert!((s.p99 as f64 - 9900.0).abs() / 9900.0 < 0.01, "{s:?}");
        assert_eq!(s.max, 10_000);
    }

    #[test]
    fn latency_clamps_huge_values() {
        let mut l = Latency::default();
        l.record(LATENCY_US_MAX * 10);
        assert_eq!(l.summary().max, LATENCY_US_MAX * 10);
        assert_eq!(l.count(), 1);
    }

    #[test]
    fn window_quantiles_are_exact_when_small_and_bounded_when_large() {
        let mut w = WindowLatency::default();
        w.reset(true);
        for us in (1..=100u64).rev() {
            w.record(us);
        }
        assert_eq!(w.quantile_us(0.5), 50);
        assert_eq!(w.quantile_us(0.99), 99);
        w.reset(true);
        assert_eq!(w.quantile_us(0.5), 0);
        w.reset(false);
        w.record(7);
        assert_eq!(w.quantile_us(0.5), 0, "an inactive window records nothing");
        w.reset(true);
        for us in 1..=1_000_000u64 {
            w.record(us);
        }
        assert!(w.values.len() <= WINDOW_SAMPLES_MAX);
        let p50 = w.quantile_us(0.5) as f64;
        assert!((p50 - 500_000.0).abs() < 5_000.0, "{p50}");
    }

    #[test]
    fn skipping_unwanted_points_keeps_the_same_series() {
        let mut a = Series::new();
        let mut b = Series::new();
        let mut built = 0;
        for i in 1..=10_000u64 {
            let p = SeriesPoint {
                t_us: i,
                ..Default::default()
            };
            a.offer(p.clone());
            if b.wants_next() {
                built += 1;
                b.offer(p);
            } else {
                b.skip();
            }
        }
        assert_eq!(a.points(), b.points());
        assert!(built < 4 * SERIES_POINTS_MAX, "built {built}");
    }

    #[test]
    fn window_keeps_every_stride_th_value_as_the_modulo_rule_does() {
        // The countdown must choose exactly the values the rule "keep the
        // n-th offered value when n % stride == 0" chooses, across doublings.
        let mut w = WindowLatency::default();
        w.reset(true);
        let (mut values, mut stride) = (Vec::new(), 1u64);
        for n in 1..=40_000u64 {
            let v = n.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40;
            w.record(v);
            if n % stride == 0 {
                if values.len() >= WINDOW_SAMPLES_MAX {
                    let mut keep = false;
                    values.retain(|_| {
                        keep = !keep;
                        keep
                    });
                    stride *= 2;
                }
                values.push(v);
            }
        }
        assert!(stride >= 8, "the run must thin several times");
        assert_eq!(w.values, values);
    }

    #[test]
    fn window_mean_is_exact_even_when_values_are_thinned() {
        let mut w = WindowLatency::default();
        w.reset(true);
        for us in 1..=10_000u64 {
            w.record(us);
        }
        assert_eq!(
            w.mean_us(),
            5_001,
            "(1 + 10000) / 2 = 5000.5, rounded half up"
        );
        w.reset(true);
        assert_eq!(w.mean_us(), 0);
        w.record(7);
        assert_eq!(w.mean_us(), 7);
    }

    #[test]
    fn series_stays_bounded_and_covers_the_run() {
        let mut s = Series::new();
        for i in 1..=100_000u64 {
            s.offer(SeriesPoint {
                t_us: i,
                ..Default::default()
            });
        }
        assert!(s.points().len() <= SERIES_POINTS_MAX);
        assert!(s.points().last().unwrap().t_us > 95_000);
        assert!(s.points().first().unwrap().t_us < 200);
        assert!(s.points().windows(2).all(|w| w[0].t_us < w[1].t_us));
    }
}
