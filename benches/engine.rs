//! Engine benchmark: `cargo bench --bench engine`.
//!
//! Prints, for the `mm1` preset and the `fanout-large` preset, simulated
//! messages per wall-clock second, engine events per second, nanoseconds per
//! event and the process's peak resident memory so far (a high-water mark:
//! `mm1` runs first, so its figure is its own; later rows include earlier cases); then, in the same run, a bare
//! binary-heap M/M/1 loop (same random streams, no routing, trace or metrics)
//! and the ratio between the two. Wall-clock time is read here, in the
//! harness, never inside the engine.
//!
//! Optional argument: simulated seconds for mm1 (default 200000).

#[path = "../tests/support/mm1_reference.rs"]
mod mm1_reference;

use queuelab::engine::{Engine, SimTime};
use queuelab::scenario::preset;
use std::time::Instant;

/// Peak resident memory of this process (Linux `VmHWM`), in MiB.
fn peak_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

struct Measured {
    messages: u64,
    events: u64,
    secs: f64,
}

fn run_preset(name: &str, sim_secs: u64) -> (Measured, Engine) {
    let p = preset(name).expect("preset exists");
    let s = p.scenario();
    let seed = s.seed;
    let mut e = Engine::new(s, seed).expect("valid preset");
    let t0 = Instant::now();
    e.run_until(SimTime(sim_secs * 1_000_000), u64::MAX);
    let secs = t0.elapsed().as_secs_f64();
    let m = Measured {
        messages: e.totals().completed,
        events: e.events(),
        secs,
    };
    (m, e)
}

/// The bare reference loop of `tests/support/mm1_reference.rs`, timed.
fn bare_mm1(sim_secs: u64) -> (Measured, f64) {
    let t0 = Instant::now();
    let r = mm1_reference::run(1, 125_000.0, 100_000.0, sim_secs * 1_000_000);
    let secs = t0.elapsed().as_secs_f64();
    let m = Measured {
        messages: r.completed,
        events: r.events,
        secs,
    };
    (m, r.sojourn_us_sum as f64 / r.completed.max(1) as f64)
}

fn print(label: &str, m: &Measured) {
    println!(
        "{label:<28} {:>12} msgs {:>8.3} s wall  {:>10.0} msgs/s  {:>11.0} events/s  {:>6.1} ns/event  peak RSS so far {:.1} MiB",
        m.messages,
        m.secs,
        m.messages as f64 / m.secs,
        m.events as f64 / m.secs,
        m.secs * 1e9 / m.events.max(1) as f64,
        peak_mib().unwrap_or(f64::NAN)
    );
}

fn main() {
    // `cargo bench` passes `--bench`; ignore flags.
    let mm1_secs: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200_000);
    println!("queuelab engine benchmark (trace hashing and metrics on; trace storage off)");
    let (mm1, e) = run_preset("mm1", mm1_secs);
    print(&format!("mm1 ({mm1_secs} sim s)"), &mm1);
    println!(
        "  mean time in system {:.4} s (theory 0.5 s), trace hash {:016x}",
        e.latency_end_to_end().mean / 1e6,
        e.trace_hash()
    );
    drop(e);
    let fan_secs = 60;
    let (fan, e) = run_preset("fanout-large", fan_secs);
    print(&format!("fanout-large ({fan_secs} sim s)"), &fan);
    println!(
        "  published {}, deliveries {} ({:.0} deliveries/s wall)",
        e.totals().published,
        e.totals().delivered,
        e.totals().delivered as f64 / fan.secs
    );
    drop(e);
    let (bare, mean_us) = bare_mm1(mm1_secs);
    print(&format!("bare heap M/M/1 ({mm1_secs} sim s)"), &bare);
    println!("  mean time in system {:.4} s", mean_us / 1e6);
    let engine_rate = mm1.messages as f64 / mm1.secs;
    let bare_rate = bare.messages as f64 / bare.secs;
    println!(
        "ratio: engine mm1 runs at {:.1}% of the bare loop's message rate (bare is {:.2}x faster)",
        100.0 * engine_rate / bare_rate,
        bare_rate / engine_rate
    );
    println!(
        "budget: >= 2,000,000 simulated msgs/s on mm1: {}",
        if engine_rate >= 2e6 { "met" } else { "NOT met" }
    );
}
