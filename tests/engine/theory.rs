//! Queueing theory: the `mm1`, `mmc` and `md1` presets agree with M/M/1,
//! Erlang C and Pollaczek-Khinchine within 3%, and Little's law (L = λW) holds on a preset.
//!
//! The estimates average several independent seeds over long runs. At
//! utilization 0.8 successive sojourn times are strongly correlated, so the
//! run lengths are chosen to put 3% at more than three standard errors (the
//! asymptotic variance of the M/M/1 sample mean is about 20 s²/n here).

use queuelab::engine::{Engine, SimTime};
use queuelab::scenario;

const SEEDS: [u64; 4] = [1, 2, 3, 4];

/// Mean end-to-end latency [s] and messages completed, over all seeds.
fn mean_time_in_system(preset: &str, secs_per_seed: u64) -> (f64, u64) {
    let s = scenario::preset(preset).unwrap().scenario();
    // Seeds run on their own threads: the machine has cores to spare in CI.
    let handles: Vec<_> = SEEDS
        .iter()
        .map(|&seed| {
            let s = s.clone();
            std::thread::spawn(move || {
                let mut e = Engine::new(s, seed).unwrap();
                let o = e.run_until(SimTime(secs_per_seed * 1_000_000), u64::MAX);
                assert!(o.reached);
                let l = e.latency_end_to_end();
                (l.mean * l.count as f64, l.count)
            })
        })
        .collect();
    let (mut sum_us, mut n) = (0.0, 0);
    for h in handles {
        let (s, c) = h.join().unwrap();
        sum_us += s;
        n += c;
    }
    (sum_us / n as f64 / 1e6, n)
}

/// Erlang C: probability that an arrival waits, for c servers at offered load a = λ/μ.
fn erlang_c(c: u32, a: f64) -> f64 {
    let rho = a / c as f64;
    let mut term = 1.0; // a^k / k!
    let mut sum = 0.0;
    for k in 0..c {
        sum += term;
        term *= a / (k + 1) as f64;
    }
    // term is now a^c / c!
    let top = term / (1.0 - rho);
    top / (sum + top)
}

#[test]
fn erlang_c_formula_matches_known_values() {
    // c = 1 reduces to M/M/1: P(wait) = rho.
    assert!((erlang_c(1, 0.8) - 0.8).abs() < 1e-12);
    // The mmc preset's description quotes P(wait) ≈ 0.647.
    assert!((erlang_c(3, 2.4) - 0.647).abs() < 0.001);
}

#[test]
fn mm1_mean_time_in_system_is_half_a_second() {
    let (lambda, mu) = (8.0, 10.0);
    let want = 1.0 / (mu - lambda);
    let (w, n) = mean_time_in_system("mm1", 30_000);
    let err = (w - want).abs() / want;
    println!(
        "mm1: W = {w:.5} s over {n} messages, theory {want} s, error {:.2}%",
        err * 100.0
    );
    assert!(n > 900_000, "too few messages: {n}");
    assert!(
        err < 0.03,
        "mm1 W = {w} s, theory {want} s ({:.2}% off)",
        err * 100.0
    );
}

#[test]
fn mmc_mean_time_in_system_matches_erlang_c() {
    let (lambda, mu, c) = (24.0, 10.0, 3u32);
    let pw = erlang_c(c, lambda / mu);
    let want = pw / (c as f64 * mu - lambda) + 1.0 / mu;
    assert!((want - 0.2078652).abs() < 1e-6, "Erlang C W = {want}");
    let (w, n) = mean_time_in_system("mmc", 12_000);
    let err = (w - want).abs() / want;
    println!(
        "mmc: W = {w:.5} s over {n} messages, Erlang C {want:.7} s, error {:.2}%",
        err * 100.0
    );
    assert!(n > 1_000_000, "too few messages: {n}");
    assert!(
        err < 0.03,
        "mmc W = {w} s, Erlang C {want} s ({:.2}% off)",
        err * 100.0
    );
}

#[test]
fn littles_law_holds_on_the_mmc_preset() {
    // L (time-average of messages in the system, integrated exactly between
    // events) equals λ (arrival rate) times W (mean time in system).
    let s = scenario::preset("mmc").unwrap().scenario();
    let mut e = Engine::new(s, 5).unwrap();
    let end = SimTime(3_000 * 1_000_000);
    let mut area = 0.0f64; // message-microseconds
    while let Some(t) = e.next_event_time() {
        if t > end {
            break;
        }
        area += e.ledger().live() as f64 * (t.0 - e.now().0) as f64;
        e.step();
    }
    area += e.ledger().live() as f64 * (end.0 - e.now().0) as f64;
    e.run_until(end, 0);
    let secs = end.0 as f64 / 1e6;
    let l = area / end.0 as f64;
    let lambda = e.totals().published as f64 / secs;
    let w = e.latency_end_to_end().mean / 1e6;
    let err = (l - lambda * w).abs() / l;
    println!(
        "Little: L = {l:.4}, λ = {lambda:.4}/s, W = {w:.5} s, λW = {:.4}",
        lambda * w
    );
    // Only the messages still in the system at the end are not in W.
    assert!(
        err < 0.01,
        "L = {l}, λW = {} ({:.2}% off)",
        lambda * w,
        err * 100.0
    );
    assert!(
        l > 3.0 && l < 7.0,
        "L = {l} is nowhere near 24 × 0.2079 ≈ 4.99"
    );
}

/// Pollaczek-Khinchine mean time in system for M/G/1: W = 1/mu + lambda E[S^2] / (2 (1 - rho)).
fn pollaczek_khinchine_w(lambda: f64, mean_s: f64, second_moment_s2: f64) -> f64 {
    let rho = lambda * mean_s;
    mean_s + lambda * second_moment_s2 / (2.0 * (1.0 - rho))
}

#[test]
fn pollaczek_khinchine_reduces_to_m_m_1() {
    // Exponential service: E[S^2] = 2 / mu^2, so W = 1 / (mu - lambda) = 0.5 s.
    assert!((pollaczek_khinchine_w(8.0, 0.1, 2.0 * 0.01) - 0.5).abs() < 1e-12);
}

#[test]
fn md1_mean_time_in_system_matches_pollaczek_khinchine() {
    // Deterministic service of 100 ms: E[S^2] = 0.01 s^2; W = 0.1 + 8 * 0.01 / 0.4 = 0.3 s.
    // Constant service halves the queueing variance, so a shorter run suffices.
    let want = pollaczek_khinchine_w(8.0, 0.1, 0.01);
    let (w, n) = mean_time_in_system("md1", 15_000);
    let err = (w - want).abs() / want;
    eprintln!(
        "md1: W = {w:.5} s over {n} messages, theory {want} s, error {:.2}%",
        err * 100.0
    );
    assert!(n > 400_000, "{n} messages");
    assert!(
        err < 0.03,
        "md1 W = {w} s, theory {want} s ({:.2}% off)",
        err * 100.0
    );
}

/// One run says how sure it is: the batch-means 95% interval of the mean
/// end-to-end latency covers the closed form (M/M/c with Erlang C) on a long
/// run, narrows as the run grows, and stays bounded in memory (at most 64
/// batches, the batch size doubling).
#[test]
fn the_batch_means_interval_covers_the_theory_and_narrows() {
    let run = |secs: u64| {
        let mut e = Engine::new(scenario::preset("mmc").unwrap().scenario(), 3).unwrap();
        e.set_series(false);
        e.run_until(SimTime(secs * 1_000_000), u64::MAX);
        e.latency_end_to_end().mean_ci95.expect("enough batches")
    };
    let (short, long) = (run(2_000), run(20_000));
    let w = 0.1 + 1.0 / (30.0 - 24.0) * erlang_c(3, 2.4);
    let theory_us = w * 1e6;
    assert!(
        (long.mean - theory_us).abs() <= long.half_width,
        "theory {theory_us:.0} µs inside {:.0} ± {:.0}",
        long.mean,
        long.half_width
    );
    assert!(long.half_width < short.half_width, "{long:?} vs {short:?}");
    assert!(long.batches <= 64 && long.batch_size > short.batch_size);
    assert!(long.warmup_samples > 0);
    // A short run has too few batches to say anything.
    let mut e = Engine::new(scenario::preset("mmc").unwrap().scenario(), 3).unwrap();
    e.run_until(SimTime(2_000_000), u64::MAX);
    assert_eq!(e.latency_end_to_end().mean_ci95, None);
}

/// The `theory` the app shows for each theory preset is the closed form
/// computed here, and a bad `theory` block is a path-named error.
#[test]
fn the_presets_theory_values_are_the_closed_forms() {
    let declared = |p: &str| {
        scenario::preset(p)
            .unwrap()
            .scenario()
            .theory
            .expect("a theory block")
            .mean_latency
            .us() as f64
            / 1e6
    };
    let close = |a: f64, b: f64| (a - b).abs() <= 0.001 * b;
    assert!(close(declared("mm1"), 1.0 / (10.0 - 8.0)));
    assert!(close(
        declared("mmc"),
        0.1 + erlang_c(3, 2.4) / (30.0 - 24.0)
    ));
    assert!(close(
        declared("md1"),
        pollaczek_khinchine_w(8.0, 0.1, 0.01)
    ));
    let classes = cobham_time_in_system(&[1.0, 7.0], 0.1);
    assert!(close(
        declared("priority-queue"),
        (classes[0] + 7.0 * classes[1]) / 8.0
    ));
    let mut v: serde_json::Value =
        serde_json::from_str(scenario::preset("mm1").unwrap().json).unwrap();
    v["theory"]["formula"] = serde_json::json!("x".repeat(300));
    v["theory"]["mean_latency"] = serde_json::json!("0s");
    let err = scenario::load(&v.to_string()).unwrap_err().to_string();
    assert!(
        err.contains("theory.mean_latency: must be positive")
            && err.contains("theory.formula: at most 200 bytes"),
        "{err}"
    );
}

#[test]
fn the_reported_mean_processing_time_is_the_service_mean() {
    // `mm1`'s server takes an exponential 100 ms a message (μ = 10/s): the
    // report's `service_mean_us` (the survey's `average_processing_time`)
    // over 20,000 messages is within 3% of it (standard error 0.7%), and a
    // constant service time is reported exactly.
    let s = scenario::preset("mm1").unwrap().scenario();
    let mut e = Engine::new(s, 1).unwrap();
    e.run_until(SimTime(2_500_000_000), u64::MAX);
    let r = serde_json::to_value(e.report("mm1")).unwrap();
    let server = &r["nodes"]["server"];
    assert!(server["processed"].as_u64().unwrap() > 19_000);
    let mean_us = server["service_mean_us"].as_f64().unwrap();
    assert!((mean_us - 100_000.0).abs() < 3_000.0, "{mean_us}");

    let md1 = scenario::preset("md1").unwrap().scenario();
    let service_us = match &md1.consumers[0].service {
        scenario::Service::Constant(d) => d.us() as f64,
        other => panic!("md1 serves in constant time: {other:?}"),
    };
    let mut e = Engine::new(md1, 1).unwrap();
    e.run_until(SimTime(100_000_000), u64::MAX);
    let r = serde_json::to_value(e.report("md1")).unwrap();
    let c = r["nodes"]
        .as_object()
        .unwrap()
        .values()
        .find(|n| n["kind"] == "consumer")
        .unwrap();
    assert_eq!(c["service_mean_us"].as_f64(), Some(service_us));
}

/// Mean end-to-end latency [s] of each of `producers`, over all seeds.
fn per_producer_means(preset: &str, secs_per_seed: u64, producers: &[&str]) -> Vec<(f64, u64)> {
    let s = scenario::preset(preset).unwrap().scenario();
    let handles: Vec<_> = SEEDS
        .iter()
        .map(|&seed| {
            let s = s.clone();
            let ids: Vec<String> = producers.iter().map(|p| p.to_string()).collect();
            std::thread::spawn(move || {
                let mut e = Engine::new(s, seed).unwrap();
                assert!(
                    e.run_until(SimTime(secs_per_seed * 1_000_000), u64::MAX)
                        .reached
                );
                let nodes = e.snapshot().nodes;
                ids.iter()
                    .map(|want| {
                        nodes
                            .iter()
                            .find_map(|n| match n {
                                queuelab::engine::NodeView::Producer {
                                    id,
                                    completed,
                                    end_to_end_mean_us,
                                    ..
                                } if id == want => Some((
                                    end_to_end_mean_us.unwrap() * *completed as f64,
                                    *completed,
                                )),
                                _ => None,
                            })
                            .expect("producer in the snapshot")
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut sums = vec![(0.0, 0u64); producers.len()];
    for h in handles {
        for (k, (s, c)) in h.join().unwrap().into_iter().enumerate() {
            sums[k].0 += s;
            sums[k].1 += c;
        }
    }
    sums.into_iter()
        .map(|(s, n)| (s / n as f64 / 1e6, n))
        .collect()
}

/// Cobham's formula for a non-preemptive M/G/1 priority queue: class k
/// (1 = highest) waits W0 / ((1 − σ_{k−1})(1 − σ_k)) in queue, where W0 =
/// Σ λ_i E[S_i²] / 2 and σ_k the load of classes 1..=k.
fn cobham_time_in_system(lambdas: &[f64], mean_s: f64) -> Vec<f64> {
    let w0: f64 = lambdas
        .iter()
        .map(|l| l * 2.0 * mean_s * mean_s)
        .sum::<f64>()
        / 2.0;
    let mut sigma = 0.0;
    lambdas
        .iter()
        .map(|l| {
            let before = sigma;
            sigma += l * mean_s;
            mean_s + w0 / ((1.0 - before) * (1.0 - sigma))
        })
        .collect()
}

#[test]
fn the_priority_queue_preset_matches_cobham_per_class() {
    // Alerts (1/s, priority 5) ahead of reports (7/s, none); exponential
    // service of 100 ms for both.
    let want = cobham_time_in_system(&[1.0, 7.0], 0.1);
    assert!((want[0] - 0.18889).abs() < 1e-4 && (want[1] - 0.54444).abs() < 1e-4);
    // Work-conserving with one service law: over both classes it is M/M/1.
    assert!(((want[0] + 7.0 * want[1]) / 8.0 - 0.5).abs() < 1e-9);
    let got = per_producer_means("priority-queue", 30_000, &["urgent-alerts", "bulk-reports"]);
    for ((w, n), theory) in got.iter().zip(&want) {
        let err = (w - theory).abs() / theory;
        println!(
            "priority-queue: W = {w:.5} s over {n} messages, Cobham {theory:.5} s, {:.2}% off",
            err * 100.0
        );
        assert!(
            err < 0.03,
            "W = {w} s, Cobham {theory} s ({:.2}% off)",
            err * 100.0
        );
    }
}
