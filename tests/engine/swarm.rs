//! The seed swarm: as many deep random cases as fit in a wall-clock budget,
//! every invariant checked after every event, each case reproducible from
//! the one number it prints.
//!
//!   base seed ──case i──► case seed ──Stream──► genome + engine seed
//!                                     ──check_case_at(SWARM)──► ok, or
//!   "SWARM FAILURE ... QL_SWARM_CASE=<case seed>" and the test fails
//!
//! The cases are the property test's (same scenario grammar, same checks:
//! invariants and a reference model after every event, a clone taken midway,
//! replay of the command log), at `SWARM` depth: up to 48 commands, half of
//! them faults, runs of up to a minute of simulated time and 250,000 events.
//!
//! Environment:
//! - `QL_SWARM_SECS`: wall-clock budget in seconds (default 3; CI uses 60).
//! - `QL_SWARM_SEED`: base seed (default: from the clock, printed, so every
//!   CI run explores new cases).
//! - `QL_SWARM_CASE`: run only this case seed (what a failure prints).
//!
//! Cases are spread over the machine's cores (at most 4 threads); a case is
//! never cut short, so the budget can be exceeded by one case per thread.

use crate::props::{check_case_at, report, SWARM};
use queuelab::engine::prng::Stream;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A whole number from the environment; a malformed one stops the test.
pub(crate) fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    match v.trim().parse() {
        Ok(n) => Some(n),
        Err(_) => panic!("{name}={v:?} is not a whole number"),
    }
}

/// What a caught panic said.
pub(crate) fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .map_or_else(|| "panicked".into(), |m| format!("panicked: {m}"))
}

/// The base seed of a swarm: `var` if set, else from the clock. Only which
/// cases run depends on the clock; each case is fixed by its own seed,
/// which a failure prints.
pub(crate) fn base_seed(var: &str) -> u64 {
    env_u64(var).unwrap_or_else(|| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        case_seed(t, 0)
    })
}

/// What a budgeted swarm did: cases started, the sum of what they counted,
/// and the failure reports.
pub(crate) struct Swarmed {
    pub cases: u64,
    pub counted: u64,
    pub threads: u64,
    pub failures: Vec<String>,
}

/// Run `case_seed(base, 0)`, `case_seed(base, 1)`, ... through `run` on up
/// to 4 threads until `secs` of wall clock have passed or a case fails
/// (its report is printed at once and kept). `run` must catch its own
/// panics so that the report names the case. A case is never cut short, so
/// the budget can be exceeded by one case per thread.
pub(crate) fn run_budgeted(
    secs: u64,
    base: u64,
    run: impl Fn(u64) -> Result<u64, String> + Sync,
) -> Swarmed {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4)) as u64;
    let next = AtomicU64::new(0);
    let counted = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
                    let c = case_seed(base, next.fetch_add(1, Ordering::Relaxed));
                    match run(c) {
                        Ok(n) => {
                            counted.fetch_add(n, Ordering::Relaxed);
                        }
                        Err(why) => {
                            eprintln!("{why}");
                            failures.lock().unwrap().push(why);
                            stop.store(true, Ordering::Relaxed);
                        }
                    }
                }
            });
        }
    });
    Swarmed {
        cases: next.load(Ordering::Relaxed),
        counted: counted.load(Ordering::Relaxed),
        threads,
        failures: failures.into_inner().unwrap(),
    }
}

/// The genome and engine seed of one case, from its seed alone.
fn case(case_seed: u64) -> (Vec<u32>, u64) {
    let mut s = Stream::new(case_seed, "swarm");
    let len = 100 + s.below(1900) as usize;
    let genome = (0..len).map(|_| s.next_u64() as u32).collect();
    (genome, s.next_u64())
}

/// The seed of case `i` of a swarm (SplitMix64 of `base + i`).
pub(crate) fn case_seed(base: u64, i: u64) -> u64 {
    let mut z = base.wrapping_add(i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Run one case; on failure, the report to print (panics are caught).
fn run_case(case_seed: u64) -> Result<u64, String> {
    let (genome, seed) = case(case_seed);
    match catch_unwind(AssertUnwindSafe(|| check_case_at(&genome, seed, &SWARM))) {
        Ok(Ok(events)) => Ok(events),
        Ok(Err(why)) => Err(report(&genome, seed, &why)),
        Err(panic) => Err(report(&genome, seed, &panic_text(&*panic))),
    }
}

fn failure(case_seed: u64, why: &str) -> String {
    format!(
        "SWARM FAILURE, case seed {case_seed}\n\
         reproduce: QL_SWARM_CASE={case_seed} cargo test --locked --test engine swarm -- --nocapture\n{why}"
    )
}

#[test]
fn swarm_of_seeds_keeps_every_invariant() {
    if let Some(c) = env_u64("QL_SWARM_CASE") {
        match run_case(c) {
            Ok(events) => eprintln!("swarm: case {c} passed ({events} events)"),
            Err(why) => panic!("{}", failure(c, &why)),
        }
        return;
    }
    let secs = env_u64("QL_SWARM_SECS").unwrap_or(3);
    let base = base_seed("QL_SWARM_SEED");
    eprintln!("swarm: base seed {base} (QL_SWARM_SEED), budget {secs} s");
    let done = run_budgeted(secs, base, |c| run_case(c).map_err(|why| failure(c, &why)));
    eprintln!(
        "swarm: {} cases, {} events, {} threads",
        done.cases, done.counted, done.threads
    );
    assert!(done.failures.is_empty(), "{}", done.failures.join("\n\n"));
    assert!(done.cases > 0, "the budget ran out before the first case");
}

#[test]
fn swarm_cases_are_fixed_by_their_seed() {
    assert_eq!(case(42), case(42));
    assert_ne!(case(42).0, case(43).0);
    assert_ne!(case_seed(1, 0), case_seed(1, 1));
}
