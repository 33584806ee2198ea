//! The native command-line tool: `queuelab run|link|validate|schema|list`.
//!
//!   args ──parse──► Cmd ──► load scenario (file, preset or share link) ──► Engine ──► text / JSON report, JSONL trace
//!
//! Exit codes: 0 success, 2 invalid scenario, link or arguments (message on
//! stderr naming the problem), 1 anything else (e.g. the trace file or stdout
//! cannot be written; a pipe closed by its reader, as in `| head`, ends the
//! output quietly with 0). No input makes it panic: arguments are `OsString`s (file
//! names need not be UTF-8), input files are read up to `SCENARIO_BYTES_MAX`,
//! and nothing is written with `print!` (which panics when the stream is closed).

use crate::engine::{report::hash_hex, Engine, LoggedCommand, NodeView, SimTime};
use crate::link::{looks_like_link, Link};
use crate::scenario::{self, parse_duration, Scenario, SCENARIO_BYTES_MAX};
use std::ffi::{OsStr, OsString};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

pub const USAGE: &str = "\
queuelab — a deterministic message-broker simulator

USAGE:
  queuelab run FILE|PRESET|LINK [--seed N] [--until DURATION] [--max-events N] [--json] [--trace FILE.jsonl]
  queuelab link FILE|PRESET [--seed N] [--base URL]
  queuelab validate FILE
  queuelab schema
  queuelab list

  run        simulate a scenario file, a preset or a share link and print a report
               --seed N          seed (default: the scenario's; a link fixes its own)
               --until DURATION  simulated time to run, e.g. 60s, 10m (default: the scenario's duration)
               --max-events N    stop after N engine events, an event that creates
                                 k > 1 messages (a burst) counting k (default 1000000000)
               --json            print the report as JSON
               --trace FILE      write every trace event as one JSON object per line
             A LINK (https://…/#v1.…, #v1.… or v1.…) replays its command log at
             the points it was recorded; its view time does not stop the run.
  link       print a share link to a scenario file or preset (the last line is the link)
               --seed N          seed (default: the scenario's)
               --base URL        address of the app to put before #v1.… (default: none)
  validate   check a scenario file; prints every problem with its JSON path
  schema     print the JSON Schema of the scenario format
  list       list the presets with their titles

EXIT STATUS: 0 success, 2 invalid scenario, link or arguments, 1 other failure";

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

/// A write that failed. A closed pipe (`queuelab list | head -1`) is not a
/// failure: the reader has what it wanted, so the CLI stops quietly with exit
/// 0 (code 0 and no message; `main` prints nothing for it).
pub fn io_failure(e: std::io::Error) -> Failure {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        return Failure {
            code: 0,
            message: String::new(),
        };
    }
    Failure {
        code: 1,
        message: format!("cannot write output: {e}"),
    }
}

/// Write a line to stderr; a closed or full stderr is ignored, since there is
/// nowhere left to report it (`eprintln!` would panic and exit 101).
pub fn warn(message: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "queuelab: {message}");
    let _ = err.flush();
}

#[derive(Debug, Default)]
struct RunArgs {
    target: OsString,
    seed: Option<u64>,
    until_us: Option<u64>,
    max_events: u64,
    json: bool,
    trace: Option<PathBuf>,
    base: Option<String>,
}

/// What to run: a scenario with its default seed, or a share link.
pub enum Target {
    Scenario { name: String, scenario: Scenario },
    Link(Link),
}

/// Read a scenario file, refusing more than `SCENARIO_BYTES_MAX` bytes (so
/// `/dev/zero` or a huge file is an error, not an exhausted memory).
pub fn read_scenario_file(path: &Path) -> Result<Vec<u8>, Failure> {
    let cannot = |e: std::io::Error| Failure {
        code: 2,
        message: format!("cannot read {}: {e}", path.display()),
    };
    let file = std::fs::File::open(path).map_err(cannot)?;
    let mut bytes = Vec::new();
    file.take(SCENARIO_BYTES_MAX as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() > SCENARIO_BYTES_MAX {
        return Err(Failure {
            code: 2,
            message: format!(
                "{}: larger than the {} MiB limit for a scenario file",
                path.display(),
                SCENARIO_BYTES_MAX / (1024 * 1024)
            ),
        });
    }
    Ok(bytes)
}

/// Load a scenario from a file path, a preset by name, or a share link.
pub fn load_target(target: &OsStr) -> Result<Target, Failure> {
    let path = Path::new(target);
    if path.exists() {
        let bytes = read_scenario_file(path)?;
        let s = scenario::load_bytes(&bytes).map_err(|e| Failure {
            code: 2,
            message: format!("{}: invalid scenario\n{e}", path.display()),
        })?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        return Ok(Target::Scenario { name, scenario: s });
    }
    let text = target.to_string_lossy();
    if let Some(p) = scenario::preset(&text) {
        return Ok(Target::Scenario {
            name: p.name.to_string(),
            scenario: p.scenario(),
        });
    }
    if looks_like_link(&text) {
        let link = Link::decode(&text).map_err(|e| Failure {
            code: 2,
            message: if text.contains('#') || text.contains("://") {
                format!("cannot read the link: {e}")
            } else {
                // `v1.json` may be a mistyped file name as much as a link.
                format!("no file or preset named {text:?}, and as a link: {e}")
            },
        })?;
        return Ok(Target::Link(link));
    }
    let names: Vec<&str> = scenario::presets().iter().map(|p| p.name).collect();
    Err(usage_error(format!(
        "no file, preset or link named {:?}; presets are: {}",
        text.chars().take(200).collect::<String>(),
        names.join(", ")
    )))
}

/// Parse `run` or `link` options; `link` takes `--base` and `--seed` only.
fn parse_run(args: &[OsString], command: &str) -> Result<RunArgs, Failure> {
    let mut r = RunArgs {
        max_events: 1_000_000_000,
        ..Default::default()
    };
    let mut it = args.iter();
    fn value<'a>(
        flag: &str,
        it: &mut std::slice::Iter<'a, OsString>,
    ) -> Result<&'a OsString, Failure> {
        it.next()
            .ok_or_else(|| usage_error(format!("{flag} needs a value")))
    }
    fn text(flag: &str, v: &OsStr) -> Result<String, Failure> {
        v.to_str()
            .map(str::to_string)
            .ok_or_else(|| usage_error(format!("{flag}: {v:?} is not UTF-8 text")))
    }
    let is_link = command == "link";
    while let Some(a) = it.next() {
        let flag = a.to_str().unwrap_or("");
        let for_run_only = ["--until", "--max-events", "--json", "--trace"];
        if (is_link && for_run_only.contains(&flag)) || (!is_link && flag == "--base") {
            return Err(usage_error(format!("{command} does not take {flag}")));
        }
        match flag {
            "--seed" => {
                let v = text("--seed", value("--seed", &mut it)?)?;
                r.seed = Some(v.parse().map_err(|_| {
                    usage_error(format!(
                        "--seed: {v:?} is not a whole number from 0 to 2^64-1"
                    ))
                })?);
            }
            "--until" => {
                let v = text("--until", value("--until", &mut it)?)?;
                let d = parse_duration(&v).map_err(|e| usage_error(format!("--until: {e}")))?;
                r.until_us = Some(d.us());
            }
            "--max-events" => {
                let v = text("--max-events", value("--max-events", &mut it)?)?;
                r.max_events = v.parse().map_err(|_| {
                    usage_error(format!("--max-events: {v:?} is not a whole number"))
                })?;
            }
            "--json" => r.json = true,
            "--trace" => r.trace = Some(PathBuf::from(value("--trace", &mut it)?)),
            "--base" => r.base = Some(text("--base", value("--base", &mut it)?)?),
            flag if flag.starts_with("--") => {
                return Err(usage_error(format!("unknown option {flag}")))
            }
            _ => {
                if !r.target.is_empty() {
                    return Err(usage_error(format!(
                        "{command} takes one scenario; got {:?} and {a:?}",
                        r.target
                    )));
                }
                r.target = a.clone();
            }
        }
    }
    if r.target.is_empty() {
        return Err(usage_error(if is_link {
            "link needs a scenario file or preset name"
        } else {
            "run needs a scenario file, preset name or link"
        }));
    }
    Ok(r)
}

/// Run the CLI with `args` (without the program name), writing to `out`.
pub fn main_with(args: &[OsString], out: &mut dyn Write) -> Result<(), Failure> {
    let io = io_failure;
    let Some(cmd) = args.first() else {
        return Err(usage_error("missing command"));
    };
    match cmd.to_str().unwrap_or("") {
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
            let file = Path::new(file);
            let bytes = read_scenario_file(file)?;
            match scenario::load_bytes(&bytes) {
                Ok(s) => {
                    writeln!(
                        out,
                        "{}: ok — {:?}: {} producers, {} exchanges, {} queues, {} consumers",
                        file.display(),
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
                    message: format!("{}: invalid scenario\n{e}", file.display()),
                }),
            }
        }
        "run" => run(&parse_run(&args[1..], "run")?, out),
        "link" => link(&parse_run(&args[1..], "link")?, out),
        _ => Err(usage_error(format!(
            "unknown command {cmd:?}; use run, link, validate, schema or list"
        ))),
    }
}

fn link(a: &RunArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let (scenario, seed) = match load_target(&a.target)? {
        Target::Scenario { scenario, .. } => {
            let seed = a.seed.unwrap_or(scenario.seed);
            (scenario, seed)
        }
        Target::Link(_) => {
            return Err(usage_error(
                "link takes a scenario file or preset, not a link",
            ))
        }
    };
    let link = Link::new(scenario, seed);
    let text = match &a.base {
        Some(base) => link.to_url(base),
        None => link.encode().map(|f| format!("#{f}")),
    }
    .map_err(|e| Failure {
        code: 2,
        message: format!("cannot make a link: {e}"),
    })?;
    writeln!(out, "{text}").map_err(io_failure)?;
    Ok(())
}

fn run(a: &RunArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let io = io_failure;
    let (name, scenario, seed, commands) = match load_target(&a.target)? {
        Target::Scenario { name, scenario } => {
            let seed = a.seed.unwrap_or(scenario.seed);
            (name, scenario, seed, Vec::new())
        }
        Target::Link(link) => {
            if a.seed.is_some() {
                return Err(usage_error(
                    "--seed cannot be used with a link: the link's command log was recorded with its own seed",
                ));
            }
            ("link".to_string(), link.scenario, link.seed, link.commands)
        }
    };
    let until = SimTime(a.until_us.unwrap_or(scenario.duration.us()));
    let mut engine = Engine::new(scenario, seed).map_err(|e| Failure {
        code: 2,
        message: format!("{name}: {e}"),
    })?;
    // The report has no time series: do not keep one.
    engine.set_series(false);
    let trace_out = match &a.trace {
        None => None,
        Some(path) => {
            let f = std::fs::File::create(path).map_err(|e| Failure {
                code: 1,
                message: format!("cannot create {}: {e}", path.display()),
            })?;
            // Drains the trace buffer whenever it fills, even inside one event.
            Some(crate::engine::TraceWriter::attach(
                &mut engine,
                BufWriter::new(f),
            ))
        }
    };
    // Writes the events recorded since the last call; the trace writer
    // also drains a full buffer mid-event (one event can record millions).
    let drain = |engine: &mut Engine| -> Result<(), Failure> {
        if let Some(w) = trace_out.as_ref() {
            w.drain(engine).map_err(io)?;
        }
        Ok(())
    };
    // Commands recorded after `until` are never reached.
    let reachable: Vec<&LoggedCommand> = commands.iter().filter(|c| c.at_us <= until.0).collect();
    if reachable.len() < commands.len() {
        warn(&format!(
            "{} of the link's {} commands come after {} and are not replayed",
            commands.len() - reachable.len(),
            commands.len(),
            until
        ));
    }
    // Run in chunks, writing the trace between them.
    let chunk = if a.trace.is_some() {
        1_000u64
    } else {
        50_000u64
    };
    let mut budget = a.max_events;
    let mut reached = false;
    // Each leg runs to the next logged command's exact point (its event count
    // and time, as `Engine::replay` does), applies it, and goes on; the last
    // leg runs to `until`.
    let mut legs = reachable.iter().enumerate();
    'legs: loop {
        let next = legs.next();
        let (leg_until, leg_events) = match next {
            Some((_, c)) => (SimTime(c.at_us), c.after_events),
            None => (until, u64::MAX),
        };
        let mut leg_reached = false;
        loop {
            let cap = chunk
                .min(budget)
                .min(leg_events.saturating_sub(engine.events()));
            if cap == 0 {
                break;
            }
            // `cap` bounds work, and so events too: a call never runs past
            // the command's event count. A burst event counts one per
            // message it creates against --max-events.
            let o = engine.run_until(leg_until, cap);
            budget = budget.saturating_sub(o.work);
            drain(&mut engine)?;
            if o.reached {
                leg_reached = true;
                break;
            }
        }
        let Some((k, c)) = next else {
            reached = leg_reached;
            break 'legs;
        };
        if budget == 0 && engine.events() < c.after_events {
            break 'legs;
        }
        let replay_error = |why: String| Failure {
            code: 2,
            message: format!("the link's command {k} cannot be replayed: {why}"),
        };
        // Every event up to the command's time has run: if its event count is
        // still ahead, the log does not belong to this scenario and seed.
        // (Checked here, not by stepping on: a hostile count could be 10^18.)
        if engine.events() < c.after_events {
            return Err(replay_error(format!(
                "it was applied after {} events, but only {} happen by {}",
                c.after_events,
                engine.events(),
                SimTime(c.at_us)
            )));
        }
        engine
            .seek_point(c.after_events, SimTime(c.at_us))
            .map_err(replay_error)?;
        engine
            .submit(c.command.clone())
            .map_err(|e| replay_error(e.to_string()))?;
        drain(&mut engine)?;
    }
    if let Some(w) = trace_out {
        w.finish(&mut engine).map_err(io)?;
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
        warn(&format!(
            "stopped at --max-events {} before {}",
            a.max_events, until
        ));
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
            NodeView::Topic(t) => {
                let per: Vec<String> = t.partitions.iter().map(|p| format!("{}..{}", p.log_start, p.log_end)).collect();
                format!(
                    "  topic     {:<18} {} partitions, appended {}, offsets [{}]",
                    t.id,
                    t.partitions.len(),
                    t.appended,
                    per.join(" ")
                )
            }
            NodeView::Group(g) => {
                let live = g.members.iter().filter(|m| m.up && m.in_group).count();
                let idle = g.members.iter().filter(|m| m.up && m.in_group && m.partitions.is_empty()).count();
                let failures = if g.failed > 0 {
                    format!(
                        ", failed {} (retried {}, to retry topics {}, dead-lettered {}, skipped {}, recovered {})",
                        g.failed, g.retried, g.sent_to_retry_topics, g.dead_lettered, g.failed_skipped, g.recovered
                    )
                } else {
                    String::new()
                };
                format!(
                    "  group     {:<18} {live} members ({idle} idle), processed {}, reprocessed {}, skipped {}, lag {} (max {}), rebalances {}{failures}",
                    g.id, g.processed, g.reprocessed, g.skipped, g.lag, g.lag_max, g.rebalances
                )
            }
        };
        writeln!(out, "{line}")?;
    }
    Ok(())
}
