//! A tiny reference model of an M/M/1 queue: a binary heap of
//! `(time, seq, is_departure)` events, a FIFO of arrival times, and the same
//! per-component random streams and `libm` draws as the engine's `mm1`
//! preset (producer `arrivals`, consumer `server`, seed 1).
//!
//! Shared by the reference-model test (the engine must agree with it exactly)
//! and by the benchmark (the engine's speed is reported relative to it).

use queuelab::engine::prng::Stream;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// Result of a reference run.
pub struct Mm1Outcome {
    pub completed: u64,
    pub events: u64,
    pub sojourn_us_sum: u128,
}

/// Run M/M/1 with mean gap `gap_us` and mean service `service_us` until `end_us`.
pub fn run(seed: u64, gap_us: f64, service_us: f64, end_us: u64) -> Mm1Outcome {
    let mut arrivals = Stream::new(seed, "producer:arrivals");
    let mut service = Stream::new(seed, "consumer:server");
    let mut heap: BinaryHeap<Reverse<(u64, u64, bool)>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut queue: VecDeque<u64> = VecDeque::new();
    let mut in_service: Option<u64> = None;
    let mut out = Mm1Outcome {
        completed: 0,
        events: 0,
        sojourn_us_sum: 0,
    };
    // Same rounding as the engine: nearest microsecond, gaps and services at least 1 us.
    let gap = |s: &mut Stream| ((s.exponential(gap_us) + 0.5) as u64).max(1);
    let svc = |s: &mut Stream| ((s.exponential(service_us) + 0.5) as u64).max(1);
    heap.push(Reverse((gap(&mut arrivals), seq, false)));
    while let Some(Reverse((t, _, departure))) = heap.pop() {
        if t > end_us {
            break;
        }
        out.events += 1;
        if departure {
            let arrived = in_service
                .take()
                .expect("a departure follows a service start");
            out.completed += 1;
            out.sojourn_us_sum += (t - arrived) as u128;
        } else {
            queue.push_back(t);
            seq += 1;
            heap.push(Reverse((t + gap(&mut arrivals), seq, false)));
        }
        if in_service.is_none() {
            if let Some(arrived) = queue.pop_front() {
                in_service = Some(arrived);
                seq += 1;
                heap.push(Reverse((t + svc(&mut service), seq, true)));
            }
        }
    }
    out
}
