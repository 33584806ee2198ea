//! Engine benchmark: `cargo bench --bench engine` (harness = false; it prints
//! numbers and never fails). The budget of issue 6 is checked here, in one run:
//!
//!   engine `mm1` (as `queuelab run mm1` runs it: trace hash, histograms and
//!   time series on, trace storage off)   ≥ 0.5 × the bare heap loop
//!                                        ≥ 1.4 × `simcore` on the same M/M/1
//!
//! The three M/M/1 implementations (λ = 8/s, μ = 10/s) run in interleaved
//! rounds, each round in a rotated order (A B C, B C A, C A B, …), so that a
//! burst of load from another process on the shared machine hits all three
//! alike; ratios are taken within a round ("paired") and the median over
//! rounds is reported. Throughput is completed messages per wall-clock second;
//! events/s and ns/event count each implementation's own events (the engine
//! has more kinds of events per message than the two-event loops).
//!
//! Memory: peak RSS per case (the kernel's high-water mark, reset before each
//! case through `/proc/self/clear_refs`), the bytes a queued message costs
//! (RSS growth with N messages parked in a queue that has no consumer, in a
//! fresh child process) and the peak RSS of `mm1` at 10⁵ and 10⁷ messages
//! (each in a fresh child process): flat memory means the two are close.
//!
//! Kafka (issue 8): two Kafka presets run as fifth and sixth cases in the same
//! rounds, each until its groups have processed about as many records as the
//! M/M/1 cases complete messages. `kafka-keys-ordering` is the unbatched case
//! (a keyed producer without linger, a 6-partition topic, a 3-member group at
//! 60% load, so most polls return one record); `kafka-commit-policies` is the
//! batched one (linger 500 ms, up to 50 records a poll, four groups reading one
//! partition). Records processed per second (a record processed by two groups
//! counts twice), paired with the engine's `mm1` messages per second, must be
//! ≥ 1 (issue 8's budget); both are printed, each with its verdict.
//!
//! After them, outside the rounds: `fanout-large` deliveries per second and a
//! wide Kafka topic (1,024 partitions, 8 members) in records per second, and a
//! Pulsar Key_Shared subscription under overload in events per second.
//!
//! Wall-clock time is read here, in the harness, never inside the engine.
//!
//! Arguments (after `--`): `--rounds N` (default 5), `--messages N` (M/M/1
//! messages per case, default 1000000), `--quick` (skip the child-process
//! memory checks). Internal modes used by the child processes:
//! `--child-mm1-peak MESSAGES`, `--child-bytes-per-queued N`.

#[path = "../tests/support/mm1_reference.rs"]
mod mm1_reference;
#[path = "simcore_mm1.rs"]
mod simcore_mm1;

use queuelab::engine::{Engine, SimTime};
use queuelab::scenario::{load, preset};
use std::time::Instant;

/// The issue-6 budget: engine throughput as a multiple of the other's.
const BUDGET_VS_BARE: f64 = 0.5;
const BUDGET_VS_SIMCORE: f64 = 1.4;
/// M/M/1 parameters, as in `scenarios/mm1.json`.
const ARRIVAL_PER_S: f64 = 8.0;
const SERVICE_PER_S: f64 = 10.0;
/// Issue 8's budget: Kafka records/s ≥ the engine's `mm1` messages/s.
const BUDGET_KAFKA_VS_MM1: f64 = 1.0;
/// Issue 9: mm1 with the guarantee ledger on stays within 10% of it off.
const BUDGET_LEDGER: f64 = 0.9;
/// The Kafka cases: preset, records processed per simulated second (producer
/// rate × groups).
const KAFKA_CASES: [(&str, f64); 2] = [
    ("kafka-keys-ordering", 120.0),
    ("kafka-commit-policies", 320.0),
];
/// The CLI's `run_until` chunk when no trace file is written (`src/cli.rs`).
const CLI_CHUNK_EVENTS: u64 = 50_000;

/// A `/proc/self/status` field in KiB (Linux), e.g. `VmHWM` or `VmRSS`.
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status
        .lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Reset the peak-RSS mark to the current RSS (Linux ≥ 4.0). False if not possible.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("n/a".to_string(), |k| {
        format!("{:.1} MiB", k as f64 / 1024.0)
    })
}

/// One timed run of one implementation.
#[derive(Clone, Copy)]
struct Run {
    messages: u64,
    events: u64,
    secs: f64,
    peak_kib: Option<u64>,
    /// Mean time in system, seconds (a sanity check: theory says 0.5 s).
    mean_sojourn_s: f64,
}

impl Run {
    fn msgs_per_s(&self) -> f64 {
        self.messages as f64 / self.secs
    }
    fn events_per_s(&self) -> f64 {
        self.events as f64 / self.secs
    }
    fn ns_per_event(&self) -> f64 {
        self.secs * 1e9 / self.events.max(1) as f64
    }
}

/// Run a preset as `queuelab run` does without `--trace`: chunks of
/// `CLI_CHUNK_EVENTS` until the target time.
fn run_engine(e: &mut Engine, until: SimTime) {
    while !e.run_until(until, CLI_CHUNK_EVENTS).reached {}
}

fn mm1_sim_us(messages: u64) -> u64 {
    (messages as f64 / ARRIVAL_PER_S * 1e6) as u64
}

fn engine_mm1(messages: u64, ledger: bool) -> (Run, u64) {
    let p = preset("mm1").expect("preset mm1 exists");
    let s = p.scenario();
    let seed = s.seed;
    reset_peak();
    let mut e = Engine::new(s, seed).expect("valid preset");
    e.set_ledger(ledger).expect("mm1 needs no business ids");
    let t0 = Instant::now();
    run_engine(&mut e, SimTime(mm1_sim_us(messages)));
    let secs = t0.elapsed().as_secs_f64();
    let run = Run {
        messages: e.totals().completed,
        events: e.events(),
        secs,
        peak_kib: status_kib("VmHWM"),
        mean_sojourn_s: e.latency_end_to_end().mean / 1e6,
    };
    (run, e.trace_hash())
}

fn bare_mm1(messages: u64) -> Run {
    reset_peak();
    let t0 = Instant::now();
    let r = mm1_reference::run(
        1,
        1e6 / ARRIVAL_PER_S,
        1e6 / SERVICE_PER_S,
        mm1_sim_us(messages),
    );
    let secs = t0.elapsed().as_secs_f64();
    Run {
        messages: r.completed,
        events: r.events,
        secs,
        peak_kib: status_kib("VmHWM"),
        mean_sojourn_s: r.sojourn_us_sum as f64 / r.completed.max(1) as f64 / 1e6,
    }
}

fn simcore_mm1(messages: u64, single: bool) -> Run {
    reset_peak();
    let run = if single {
        simcore_mm1::run_single
    } else {
        simcore_mm1::run_components
    };
    let t0 = Instant::now();
    let r = run(
        1,
        ARRIVAL_PER_S,
        SERVICE_PER_S,
        mm1_sim_us(messages) as f64 / 1e6,
    );
    let secs = t0.elapsed().as_secs_f64();
    Run {
        messages: r.completed,
        events: r.events,
        secs,
        peak_kib: status_kib("VmHWM"),
        mean_sojourn_s: r.mean_sojourn_s,
    }
}

/// Kafka case `k`, run until its groups processed about `records` records:
/// messages = records processed (summed over groups).
fn engine_kafka(k: usize, records: u64) -> Run {
    let (name, per_s) = KAFKA_CASES[k];
    let p = preset(name).expect("the Kafka preset exists");
    let s = p.scenario();
    let seed = s.seed;
    reset_peak();
    let mut e = Engine::new(s, seed).expect("valid preset");
    let until = SimTime((records as f64 / per_s * 1e6) as u64);
    let t0 = Instant::now();
    run_engine(&mut e, until);
    let secs = t0.elapsed().as_secs_f64();
    Run {
        messages: e.totals().processed,
        events: e.events(),
        secs,
        peak_kib: status_kib("VmHWM"),
        mean_sojourn_s: e.latency_end_to_end().mean / 1e6,
    }
}

/// `fanout-large` for its scenario duration: (deliveries, seconds).
fn fanout_large() -> (u64, u64, f64) {
    let p = preset("fanout-large").expect("preset fanout-large exists");
    let s = p.scenario();
    let (seed, until) = (s.seed, SimTime(s.duration.us()));
    let mut e = Engine::new(s, seed).expect("valid preset");
    let t0 = Instant::now();
    run_engine(&mut e, until);
    let secs = t0.elapsed().as_secs_f64();
    (e.totals().delivered, e.events(), secs)
}

/// A wide topic: 1,024 partitions, 4,000 keys at 300 records/s, a group of
/// 8 members (128 partitions each) at about 60% load, for 1,000 simulated
/// seconds: (records processed, events, seconds). What a poll and an append
/// cost as the partition count grows (`fetchable.rs`, `lag.rs`'s index).
fn kafka_wide() -> (u64, u64, f64) {
    let keys: Vec<String> = (0..4000).map(|i| format!("\"k{i}\"")).collect();
    let json = format!(
        r#"{{"title": "wide topic", "seed": 1,
  "producers": [{{ "id": "p", "to": "t", "rate": "300/s", "keys": {{ "random": [{}] }} }}],
  "topics": [{{ "id": "t", "partitions": 1024 }}],
  "consumer_groups": [{{ "id": "g", "topics": ["t"], "members": 8, "max_poll_records": 20,
    "service": {{ "exponential": "15ms" }} }}]}}"#,
        keys.join(",")
    );
    let s = load(&json).expect("the wide-topic scenario is valid");
    let mut e = Engine::new(s, 1).expect("valid scenario");
    let t0 = Instant::now();
    run_engine(&mut e, SimTime(1_000_000_000));
    let secs = t0.elapsed().as_secs_f64();
    (e.totals().processed, e.events(), secs)
}

/// Pulsar Key_Shared under overload: 100,000 messages/s of 2 keys for
/// 2 simulated seconds into three consumers of 100 ms each. The owners of
/// the keys fill their receiver queues and the held-back (replay) set
/// reaches its look-ahead limit of 6,000, while a consumer that owns none
/// of the keys keeps its permits; every arrival dispatches. What one such
/// dispatch costs (`pulsar_key_shared.rs`): (messages published, events,
/// seconds).
fn pulsar_overload() -> (u64, u64, f64) {
    let json = r#"{"title": "key_shared overload", "seed": 1,
  "producers": [{ "id": "p", "to": "t", "rate": "100000/s", "keys": { "random_of_n": 2 } }],
  "pulsar_topics": [{ "id": "t" }],
  "pulsar_subscriptions": [{ "id": "s", "topic": "t", "type": "key_shared", "consumers": 3,
    "service": { "exponential": "100ms" } }]}"#;
    let s = load(json).expect("the overload scenario is valid");
    let mut e = Engine::new(s, 1).expect("valid scenario");
    let t0 = Instant::now();
    run_engine(&mut e, SimTime(2_000_000));
    let secs = t0.elapsed().as_secs_f64();
    (e.totals().published, e.events(), secs)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Child mode: run `mm1` for `messages` messages and print its peak RSS.
fn child_mm1_peak(messages: u64) {
    let (run, _) = engine_mm1(messages, true);
    // Whole-process peak: a fresh process, so nothing else ran before.
    println!(
        "peak_kib {} messages {}",
        status_kib("VmHWM").unwrap_or(0),
        run.messages
    );
}

/// Child mode: park `n` messages in a queue with no consumer; print the RSS
/// growth per parked message (bytes). The producer publishes 1,000,000/s at
/// constant gaps, so the series and histograms stay a few samples long and
/// the growth is the messages' own cost (slots, queue entries, agenda).
fn child_bytes_per_queued(n: u64) {
    const RATE_PER_S: u64 = 1_000_000;
    let json = format!(
        r#"{{
  "title": "parked messages (benchmark)",
  "seed": 1,
  "duration": "3600s",
  "producers": [ {{ "id": "p", "to": "park", "rate": "{RATE_PER_S}/s", "arrival": "constant" }} ],
  "queues": [ {{ "id": "park" }} ]
}}"#
    );
    let s = load(&json).expect("the parking scenario is valid");
    let mut e = Engine::new(s, 1).expect("the parking scenario is valid");
    // Warm up: a thousand messages, so one-time allocations are in the baseline.
    run_engine(&mut e, SimTime(1_000));
    let (q0, rss0) = (e.ledger().queued, status_kib("VmRSS"));
    run_engine(&mut e, SimTime(n * 1_000_000 / RATE_PER_S + 1_000));
    let (q1, rss1) = (e.ledger().queued, status_kib("VmRSS"));
    match (rss0, rss1) {
        (Some(a), Some(b)) if q1 > q0 => println!(
            "bytes_per_queued {:.1} queued {}",
            (b.saturating_sub(a) as f64 * 1024.0) / (q1 - q0) as f64,
            q1
        ),
        _ => println!("bytes_per_queued n/a queued {q1}"),
    }
}

/// Run this benchmark binary again in a child mode and return its stdout line.
fn child(args: &[&str]) -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    let out = std::process::Command::new(exe).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The number after `key` in a child's line `key value key value`.
fn field(line: &str, key: &str) -> Option<f64> {
    let mut it = line.split_whitespace();
    while let Some(k) = it.next() {
        if k == key {
            return it.next()?.parse().ok();
        }
    }
    None
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| -> Option<u64> {
        let i = args.iter().position(|a| a == flag)?;
        args.get(i + 1)?.parse().ok()
    };
    if let Some(m) = value("--child-mm1-peak") {
        return child_mm1_peak(m);
    }
    if let Some(n) = value("--child-bytes-per-queued") {
        return child_bytes_per_queued(n);
    }
    let rounds = value("--rounds").unwrap_or(5).max(1) as usize;
    let messages = value("--messages").unwrap_or(1_000_000).max(1);
    let quick = args.iter().any(|a| a == "--quick");

    println!(
        "queuelab engine benchmark: M/M/1 (λ = 8/s, μ = 10/s), {messages} messages per case, \
         {rounds} interleaved rounds, medians"
    );
    if !reset_peak() {
        println!("  (cannot reset the peak-RSS mark: peak memory is the process high-water mark)");
    }

    // Interleaved rounds: the order rotates so no implementation always runs first.
    const CASES: usize = 7;
    let mut runs: [Vec<Run>; CASES] = Default::default();
    let mut trace_hash = 0;
    for round in 0..rounds {
        for k in 0..CASES {
            let case = (round + k) % CASES;
            let r = match case {
                0 => {
                    let (r, h) = engine_mm1(messages, true);
                    trace_hash = h;
                    r
                }
                6 => engine_mm1(messages, false).0,
                1 => bare_mm1(messages),
                2 => simcore_mm1(messages, false),
                3 => simcore_mm1(messages, true),
                4 => engine_kafka(0, messages),
                5 => engine_kafka(1, messages),
                _ => unreachable!("seven cases"),
            };
            runs[case].push(r);
        }
    }
    let [engine_runs, bare_runs, simcore_runs, simcore_single_runs, kafka_runs, kafka_batched_runs, no_ledger_runs] =
        &runs;

    println!();
    println!(
        "{:<36} {:>10} {:>13} {:>13} {:>9} {:>11} {:>13}",
        "M/M/1", "messages", "msgs/s", "events/s", "ns/event", "peak RSS", "mean sojourn"
    );
    let row = |label: &str, runs: &[Run]| {
        let peak = runs.iter().filter_map(|r| r.peak_kib).max();
        println!(
            "{:<36} {:>10} {:>13.0} {:>13.0} {:>9.1} {:>11} {:>11.4} s",
            label,
            runs[0].messages,
            median(runs.iter().map(Run::msgs_per_s).collect()),
            median(runs.iter().map(Run::events_per_s).collect()),
            median(runs.iter().map(Run::ns_per_event).collect()),
            mib(peak),
            runs[0].mean_sojourn_s
        );
    };
    row("engine (mm1 preset, as the CLI)", engine_runs);
    row("engine, guarantee ledger off", no_ledger_runs);
    row("bare heap loop (same streams)", bare_runs);
    row("simcore 0.1 (source + server)", simcore_runs);
    row("simcore 0.1 (one component)", simcore_single_runs);
    row("engine kafka-keys-ordering (records)", kafka_runs);
    row("engine kafka-commit-policies (rec.)", kafka_batched_runs);
    println!("  engine trace hash {trace_hash:016x}; theory: mean time in system 0.5 s");

    let paired = |other: &[Run]| -> Vec<f64> {
        engine_runs
            .iter()
            .zip(other)
            .map(|(e, o)| e.msgs_per_s() / o.msgs_per_s())
            .collect()
    };
    let verdict = |ratio: f64, budget: f64| if ratio >= budget { "PASS" } else { "FAIL" };
    println!();
    for (label, other, budget) in [
        ("engine ÷ bare loop", bare_runs, Some(BUDGET_VS_BARE)),
        ("engine ÷ simcore", simcore_runs, Some(BUDGET_VS_SIMCORE)),
        (
            "engine ÷ simcore (one component)",
            simcore_single_runs,
            None,
        ),
    ] {
        let ratios = paired(other);
        let m = median(ratios.clone());
        let all: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
        let judged = budget.map_or("(for information)".to_string(), |b| {
            format!("budget >= {b:.1}x: {}", verdict(m, b))
        });
        println!(
            "{label:<33} {m:>5.2}x as fast (paired rounds: {})   {judged}",
            all.join(" ")
        );
    }

    // The guarantee ledger's cost: mm1 with it on against the same run with it off.
    {
        let ratios = paired(no_ledger_runs);
        let m = median(ratios.clone());
        let all: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
        println!(
            "{:<33} {m:>5.2}x as fast (paired rounds: {})   budget >= {BUDGET_LEDGER:.2}x: {}",
            "ledger on ÷ ledger off",
            all.join(" "),
            verdict(m, BUDGET_LEDGER)
        );
    }

    // Kafka records/s against the engine's own mm1 messages/s, paired per round.
    for (label, runs) in [
        ("keys-ordering records ÷ mm1", kafka_runs),
        ("commit-policies records ÷ mm1", kafka_batched_runs),
    ] {
        let kafka: Vec<f64> = runs
            .iter()
            .zip(engine_runs)
            .map(|(k, e)| k.msgs_per_s() / e.msgs_per_s())
            .collect();
        let m = median(kafka.clone());
        let all: Vec<String> = kafka.iter().map(|r| format!("{r:.2}")).collect();
        println!(
            "{label:<33} {m:>5.2}x as fast (paired rounds: {})   budget >= {BUDGET_KAFKA_VS_MM1:.1}x: {}",
            all.join(" "),
            verdict(m, BUDGET_KAFKA_VS_MM1)
        );
    }

    println!();
    let fan: Vec<(u64, u64, f64)> = (0..3).map(|_| fanout_large()).collect();
    println!(
        "fanout-large (60 sim s, 3 runs): {} deliveries, {:.0} deliveries/s, {:.0} events/s (medians)",
        fan[0].0,
        median(fan.iter().map(|f| f.0 as f64 / f.2).collect()),
        median(fan.iter().map(|f| f.1 as f64 / f.2).collect())
    );
    let wide: Vec<(u64, u64, f64)> = (0..3).map(|_| kafka_wide()).collect();
    println!(
        "kafka wide topic (1024 partitions, 8 members, 1000 sim s, 3 runs): {} records, {:.0} records/s, {:.0} events/s (medians)",
        wide[0].0,
        median(wide.iter().map(|w| w.0 as f64 / w.2).collect()),
        median(wide.iter().map(|w| w.1 as f64 / w.2).collect())
    );

    let over: Vec<(u64, u64, f64)> = (0..3).map(|_| pulsar_overload()).collect();
    println!(
        "pulsar key_shared overload (100,000/s of 2 keys, replay set full, 2 sim s, 3 runs): {} messages, {:.0} events/s (medians)",
        over[0].0,
        median(over.iter().map(|w| w.1 as f64 / w.2).collect())
    );

    if quick {
        println!("(--quick: memory checks in child processes skipped)");
        return;
    }
    println!();
    const PARKED: u64 = 1_000_000;
    match child(&["--child-bytes-per-queued", &PARKED.to_string()])
        .and_then(|l| field(&l, "bytes_per_queued"))
    {
        Some(b) => println!(
            "bytes per queued message: {b:.0} B (RSS growth / {PARKED} messages parked in a queue \
             with no consumer; budget <= 64 B: {})",
            if b <= 64.0 { "PASS" } else { "FAIL" }
        ),
        None => println!("bytes per queued message: n/a (needs Linux /proc/self/status)"),
    }
    let peak =
        |m: u64| child(&["--child-mm1-peak", &m.to_string()]).and_then(|l| field(&l, "peak_kib"));
    let (small, large) = (peak(100_000), peak(10_000_000));
    let show = |k: Option<f64>| mib(k.map(|k| k as u64));
    println!(
        "memory flatness, mm1 peak RSS (fresh process): 10^5 messages {}, 10^7 messages {}{}",
        show(small),
        show(large),
        match (small, large) {
            (Some(s), Some(l)) => format!(" (growth {:+.1} MiB)", (l - s) / 1024.0),
            _ => String::new(),
        }
    );
}
