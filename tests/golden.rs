//! Golden trace hashes: every preset, run with its own seed for 15 simulated
//! seconds, must give the trace hash recorded in `golden/preset_hashes.txt`.
//!
//! The same file is read by the wasm test (`tests/web.rs`), so this is also
//! the native half of the native-vs-browser determinism check. A change to
//! engine behaviour changes these hashes on purpose: review the diff, then
//! regenerate with `UPDATE_EXPECT=1 cargo test --test golden`.

use queuelab::engine::{Engine, SimTime};
use queuelab::scenario::presets;

/// Simulated time each preset runs for the golden hash.
pub const GOLDEN_UNTIL_US: u64 = 15_000_000;

fn golden_lines() -> String {
    let mut out = String::new();
    for p in presets() {
        let s = p.scenario();
        let seed = s.seed;
        let mut e = Engine::new(s, seed).expect("preset is valid");
        e.run_until(SimTime(GOLDEN_UNTIL_US), u64::MAX);
        out.push_str(&format!(
            "{} {} {} {:016x}\n",
            p.name,
            seed,
            GOLDEN_UNTIL_US,
            e.trace_hash()
        ));
    }
    out
}

#[test]
fn every_preset_matches_its_golden_trace_hash() {
    expect_test::expect_file!["golden/preset_hashes.txt"].assert_eq(&golden_lines());
}

#[test]
fn golden_hashes_do_not_depend_on_trace_capture() {
    for p in presets() {
        let s = p.scenario();
        let mut plain = Engine::new(s.clone(), 3).unwrap();
        let mut captured = Engine::new(s, 3).unwrap();
        captured.set_trace_capture(true, 1 << 20);
        plain.run_until(SimTime(2_000_000), u64::MAX);
        captured.run_until(SimTime(2_000_000), u64::MAX);
        assert_eq!(
            plain.trace_hash(),
            captured.trace_hash(),
            "preset {}",
            p.name
        );
        assert!(
            !captured.take_trace().is_empty(),
            "preset {} recorded nothing",
            p.name
        );
    }
}
