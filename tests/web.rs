//! The engine under WebAssembly, in headless Chromium, gives the same trace
//! hash as natively for every preset (the native hashes are the golden file
//! checked by `tests/golden.rs`).
//!
//! Run: `CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
//! CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown --test web`

#![cfg(target_arch = "wasm32")]

use queuelab::engine::{Engine, SimTime};
use queuelab::scenario::preset;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const GOLDEN: &str = include_str!("golden/preset_hashes.txt");

#[wasm_bindgen_test]
fn every_preset_hashes_the_same_as_natively() {
    let mut checked = 0;
    for line in GOLDEN.lines().filter(|l| !l.trim().is_empty()) {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [name, seed, until_us, want] = parts[..] else {
            panic!("bad golden line {line:?}")
        };
        let p = preset(name).unwrap_or_else(|| panic!("golden names unknown preset {name}"));
        let mut e = Engine::new(p.scenario(), seed.parse().unwrap()).unwrap();
        e.run_until(SimTime(until_us.parse().unwrap()), u64::MAX);
        let got = format!("{:016x}", e.trace_hash());
        assert_eq!(got, want, "preset {name}: wasm hash differs from native");
        checked += 1;
    }
    assert_eq!(
        checked,
        queuelab::scenario::presets().len(),
        "every preset has a golden line"
    );
}

#[wasm_bindgen_test]
fn a_scenario_error_is_reported_not_panicked() {
    let err = queuelab::scenario::load(r#"{"title":"x","consumers":[{"id":"c","queue":"q","prefetch":0,"service":{"constant":"1ms"}}]}"#)
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("consumers[0]"), "{text}");
}
