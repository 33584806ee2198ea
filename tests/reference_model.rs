//! The engine against a tiny reference model (sled-style): on the `mm1`
//! preset, the full engine — routing, dispatch, acks, trace, metrics — must
//! complete exactly the same messages with exactly the same total time in
//! system as a 40-line binary-heap M/M/1 that uses the same random streams.
//! Any difference means the engine reorders, delays or loses something.

#[path = "support/mm1_reference.rs"]
mod mm1_reference;

use queuelab::engine::{Engine, SimTime};
use queuelab::scenario::preset;

#[test]
fn engine_mm1_equals_the_reference_model_exactly() {
    let end_us = 2_000 * 1_000_000;
    for seed in [1u64, 2, 3] {
        let reference = mm1_reference::run(seed, 125_000.0, 100_000.0, end_us);
        let mut e = Engine::new(preset("mm1").unwrap().scenario(), seed).unwrap();
        e.run_until(SimTime(end_us), u64::MAX);
        let l = e.latency_end_to_end();
        assert_eq!(
            e.totals().completed,
            reference.completed,
            "seed {seed}: completed"
        );
        let engine_sum = (l.mean * l.count as f64).round();
        let reference_sum = reference.sojourn_us_sum as f64;
        // The report rounds the mean to 0.1 us; compare sums within that rounding.
        assert!(
            (engine_sum - reference_sum).abs() <= 0.05 * l.count as f64 + 1.0,
            "seed {seed}: engine sum {engine_sum} vs reference {reference_sum}"
        );
        assert!(
            reference.completed > 14_000,
            "seed {seed}: the run is long enough to mean something"
        );
    }
}
