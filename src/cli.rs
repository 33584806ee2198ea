//! The native command-line tool: `queuelab run|validate|schema|list`.
//!
//!   args ──parse──► Cmd ──► load scenario (file or preset) ──► Engine ──► text / JSON report, JSONL trace
//!
//! Exit codes: 0 success, 2 invalid scenario or arguments (message on stderr
//! naming the problem), 1 anything else (e.g. the trace file cannot be written).
//! No input makes it panic.

use crate::engine::{report::hash_hex, Engine, NodeView, SimTime};
use crate::scenario::{self, parse_duration, Scenario};
use std::io::{BufWriter, Write};

pub const USAGE: &str = "\
queuelab — a deterministic message-broker simulator

USAGE:
  queuelab run FILE|PRESET [--seed N] [--until DURATION] [--max-events N] [--json] [--trace FILE.jsonl]
  queuelab validate FILE
  queuelab schema
  queuelab list

  run        simulate a scenario file or a preset and print a report
               --seed N          seed (default: the scenario's)
               --until DURATION  simulated time to run, e.g. 60s, 10m (default: the scenario's duration)
               --max-events N    stop after N engine events (default 1000000000)
               --json            print the report as JSON
               --trace FILE      write every trace event as one JSON object per line
  validate   check a scenario file; prints every problem with its JSON path
  schema     print the JSON Schema of the scenario format
  list       list the presets with their titles

EXIT STATUS: 0 success, 2 invalid scenario or arguments, 1 other failure";

/// A failure with its exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

fn usage_error(msg: impl Into<String>) -> Failure {
    Failure {
        code: 2,
        message: format!("{}\n\nrun `queuelab --help` for usage", msg.into()),
    }
}

#[derive(Debug, Default)]
struct RunArgs {
    target: String,
    seed: Option<u64>,
    until_us: Option<u64>,
    max_events: u64,
    json: bool,
    trace: Option<String>,
}

/// Load a scenario from a file path, or a preset by name.
pub fn load_target(target: &str) -> Result<(String, Scenario), Failure> {
    let path = std::path::Path::new(target);
    if path.exists() {
        let bytes = std::fs::read(path).map_err(|e| Failure {
            code: 2,
            message: format!("cannot read {target}: {e}"),
        })?;
        let s = scenario::load_bytes(&bytes).map_err(|e| Failure {
            code: 2,
            message: format!("{target}: invalid scenario\n{e}"),
        })?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| target.to_string());
        return Ok((name, s));
    }
    match scenario::preset(target) {
        Some(p) => Ok((p.name.to_string(), p.scenario())),
        None => {
            let names: Vec<&str> = scenario::presets().iter().map(|p| p.name).collect();
            Err(usage_error(format!(
                "no file or preset named {target:?}; presets are: {}",
                names.join(", ")
            )))
        }
    }
}

fn parse_run(args: &[String]) -> Result<RunArgs, Failure> {
    let mut r = RunArgs {
        max_events: 1_000_000_000,
        ..Default::default()
    };
    let mut it = args.iter();
    let value = |flag: &str, it: &mut std::slice::Iter<String>| -> Result<String, Failure> {
        it.next()
            .cloned()
            .ok_or_else(|| usage_error(format!("{flag} needs a value")))
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seed" => {
                let v = value("--seed", &mut it)?;
                r.seed = Some(v.parse().map_err(|_| {
                    usage_error(format!(
                        "--seed: {v:?} is not a whole number from 0 to 2^64-1"
                    ))
                })?);
            }
            "--until" => {
                let v = value("--until", &mut it)?;
                let d = parse_duration(&v).map_err(|e| usage_error(format!("--until: {e}")))?;
                r.until_us = Some(d.us());
            }
            "--max-events" => {
                let v = value("--max-events", &mut it)?;
                r.max_events = v.parse().map_err(|_| {
                    usage_error(format!("--max-events: {v:?} is not a whole number"))
                })?;
            }
            "--json" => r.json = true,
            "--trace" => r.trace = Some(value("--trace", &mut it)?),
            flag if flag.starts_with("--") => {
                return Err(usage_error(format!("unknown option {flag}")))
            }
            t => {
                if !r.target.is_empty() {
                    return Err(usage_error(format!(
                        "run takes one scenario; got {:?} and {t:?}",
                        r.target
                    )));
                }
                r.target = t.to_string();
            }
        }
    }
    if r.target.is_empty() {
        return Err(usage_error("run needs a scenario file or preset name"));
    }
    Ok(r)
}

/// Run the CLI with `args` (without the program name), writing to `out`.
pub fn main_with(args: &[String], out: &mut dyn Write) -> Result<(), Failure> {
    let io = |e: std::io::Error| Failure {
        code: 1,
        message: format!("cannot write output: {e}"),
    };
    let Some(cmd) = args.first() else {
        return Err(usage_error("missing command"));
    };
    match cmd.as_str() {
        "-h" | "--help" | "help" => {
            writeln!(out, "{USAGE}").map_err(io)?;
            Ok(())
        }
        "list" => {
            if args.len() > 1 {
                return Err(usage_error("list takes no arguments"));
            }
            for p in scenario::presets() {
                let s = p.scenario();
                writeln!(out, "{:<16} {}", p.name, s.title).map_err(io)?;
            }
            Ok(())
        }
        "schema" => {
            if args.len() > 1 {
                return Err(usage_error("schema takes no arguments"));
            }
            let text =
                serde_json::to_string_pretty(&scenario::json_schema()).expect("schema serializes");
            writeln!(out, "{text}").map_err(io)?;
            Ok(())
        }
        "validate" => {
            let [_, file] = args else {
                return Err(usage_error("validate needs exactly one scenario file"));
            };
            let bytes = std::fs::read(file).map_err(|e| Failure {
                code: 2,
                message: format!("cannot read {file}: {e}"),
            })?;
            match scenario::load_bytes(&bytes) {
                Ok(s) => {
                    writeln!(
                        out,
                        "{file}: ok — {:?}: {} producers, {} exchanges, {} queues, {} consumers",
                        s.title,
                        s.producers.len(),
                        s.exchanges.len(),
                        s.queues.len(),
                        s.consumers.len()
                    )
                    .map_err(io)?;
                    Ok(())
                }
                Err(e) => Err(Failure {
                    code: 2,
                    message: format!("{file}: invalid scenario\n{e}"),
                }),
            }
        }
        "run" => run(&parse_run(&args[1..])?, out),
        other => Err(usage_error(format!(
            "unknown command {other:?}; use run, validate, schema or list"
        ))),
    }
}

fn run(a: &RunArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let io = |e: std::io::Error| Failure {
        code: 1,
        message: format!("cannot write output: {e}"),
    };
    let (name, scenario) = load_target(&a.target)?;
    let seed = a.seed.unwrap_or(scenario.seed);
    let until = SimTime(a.until_us.unwrap_or(scenario.duration.us()));
    let mut engine = Engine::new(scenario, seed).map_err(|e| Failure {
        code: 2,
        message: format!("{name}: {e}"),
    })?;
    // The report has no time series: do not keep one.
    engine.set_series(false);
    let mut trace_out = match &a.trace {
        None => None,
        Some(path) => {
            let f = std::fs::File::create(path).map_err(|e| Failure {
                code: 1,
                message: format!("cannot create {path}: {e}"),
            })?;
            engine.set_trace_capture(true, crate::engine::trace::TRACE_BUFFER_MAX);
            Some(BufWriter::new(f))
        }
    };
    // Run in small chunks so the trace buffer is drained long before it can
    // overflow (one event can record many trace events: fan-out, dead letters).
    let chunk = if trace_out.is_some() {
        1_000u64
    } else {
        50_000u64
    };
    let mut budget = a.max_events;
    let mut reached = false;
    while budget > 0 {
        let o = engine.run_until(until, chunk.min(budget));
        budget -= o.events;
        if let Some(w) = trace_out.as_mut() {
            for ev in engine.take_trace() {
                serde_json::to_writer(&mut *w, &engine.trace_json(&ev)).map_err(|e| Failure {
                    code: 1,
                    message: e.to_string(),
                })?;
                w.write_all(b"\n").map_err(io)?;
            }
        }
        if o.reached {
            reached = true;
            break;
        }
    }
    if let Some(mut w) = trace_out {
        w.flush().map_err(io)?;
        if engine.trace_overwritten() > 0 {
            return Err(Failure {
                code: 1,
                message: format!(
                    "the trace file is incomplete: {} events overflowed the trace buffer",
                    engine.trace_overwritten()
                ),
            });
        }
    }
    if !reached {
        eprintln!(
            "queuelab: stopped at --max-events {} before {}",
            a.max_events, until
        );
    }
    let report = engine.report(&name);
    if a.json {
        let text = serde_json::to_string_pretty(&report).expect("report serializes");
        writeln!(out, "{text}").map_err(io)?;
    } else {
        write_text_report(&engine, &name, out).map_err(io)?;
    }
    Ok(())
}

fn ms(us: u64) -> String {
    format!("{:.1} ms", us as f64 / 1000.0)
}

fn write_text_report(e: &Engine, name: &str, out: &mut dyn Write) -> std::io::Result<()> {
    let t = e.totals_now();
    writeln!(out, "{} — {}", name, e.config().title)?;
    writeln!(
        out,
        "seed {}   simulated {}   {} events   trace {}",
        e.seed(),
        e.now(),
        e.events(),
        hash_hex(e.trace_hash())
    )?;
    writeln!(out)?;
    writeln!(out, "messages")?;
    let rows = [
        ("published", t.published),
        ("routed", t.routed),
        ("unroutable", t.unroutable),
        ("enqueued", t.enqueued),
        ("delivered", t.delivered),
        ("redelivered", t.redelivered),
        ("processed", t.processed),
        ("acked", t.acked),
        ("failed", t.failed),
        ("retried", t.retried),
        ("dead-lettered", t.dead_lettered),
        ("expired", t.expired),
        ("dropped", t.dropped),
        ("in flight", t.in_flight),
    ];
    for (k, v) in rows {
        writeln!(out, "  {k:<14} {v:>12}")?;
    }
    let drops: Vec<String> = e
        .dropped_by_reason()
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(r, n)| format!("{r} {n}"))
        .collect();
    if !drops.is_empty() {
        writeln!(out, "  dropped by reason: {}", drops.join(", "))?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "latency           {:>10} {:>10} {:>10} {:>10} {:>10}",
        "mean", "p50", "p95", "p99", "max"
    )?;
    for (label, l) in [
        ("wait", e.latency_wait()),
        ("end to end", e.latency_end_to_end()),
    ] {
        writeln!(
            out,
            "  {label:<14}  {:>10} {:>10} {:>10} {:>10} {:>10}",
            ms(l.mean as u64),
            ms(l.p50),
            ms(l.p95),
            ms(l.p99),
            ms(l.max)
        )?;
    }
    writeln!(out)?;
    writeln!(out, "nodes")?;
    for n in e.snapshot().nodes {
        let line = match &n {
            NodeView::Producer { id, rate_per_s, published, .. } => {
                format!("  producer  {id:<18} rate {rate_per_s}/s, published {published}")
            }
            NodeView::Exchange { id, exchange_kind, routed, unroutable } => {
                format!("  exchange  {id:<18} {exchange_kind}, routed {routed}, unroutable {unroutable}")
            }
            NodeView::Queue { id, depth, depth_max, unacked, enqueued, expired, dead_lettered, dropped, .. } => format!(
                "  queue     {id:<18} depth {depth} (max seen {depth_max}), unacked {unacked}, enqueued {enqueued}, expired {expired}, dead-lettered {dead_lettered}, dropped {dropped}"
            ),
            NodeView::Consumer { id, processed, failed, instances, .. } => {
                let up = instances.iter().filter(|i| i.up).count();
                let util = if instances.is_empty() {
                    0.0
                } else {
                    instances.iter().map(|i| i.utilization).sum::<f64>() / instances.len() as f64
                };
                format!(
                    "  consumer  {id:<18} {up}/{} up, processed {processed}, failed {failed}, utilization {:.0}%",
                    instances.len(),
                    util * 100.0
                )
            }
        };
        writeln!(out, "{line}")?;
    }
    Ok(())
}
