//! The native command-line tool: `queuelab run|compare|sweep|check|lessons|definitions|export|link|validate|schema|list`.
//!
//!   args ──parse──► Cmd ──► load scenario (file, preset or share link) ──► Engine ──► text / JSON report, JSONL trace
//!
//! Exit codes: 0 success, 2 invalid scenario, link or arguments (message on
//! stderr naming the problem), 1 anything else (e.g. the trace file or stdout
//! cannot be written; a pipe closed by its reader, as in `| head`, ends the
//! output quietly with 0). No input makes it panic: arguments are `OsString`s (file
//! names need not be UTF-8), input files are read up to `SCENARIO_BYTES_MAX`,
//! and nothing is written with `print!` (which panics when the stream is closed).
//!
//! Here: usage, argument parsing, loading targets, dispatch. The commands live
//! in `run.rs` (run, link), `check.rs` (check, lessons), `compare.rs`
//! (compare, sweep) and `files.rs` (export csv and svg, definitions).

use crate::engine::{report::hash_hex, Engine, LoggedCommand, NodeView, SimTime};
use crate::link::{looks_like_link, Link};
use crate::scenario::{self, parse_duration, Scenario, SCENARIO_BYTES_MAX};
use std::ffi::{OsStr, OsString};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

mod broker_table;
mod check;
mod compare;
mod files;
mod run;

pub const USAGE: &str = "\
queuelab — a deterministic message-broker simulator

USAGE:
  queuelab run FILE|PRESET|LINK [--seed N] [--until DURATION] [--max-events N] [--json] [--trace FILE.jsonl]
  queuelab link FILE|PRESET [--seed N] [--base URL]
  queuelab compare FILE|PRESET [--seed N] [--until DURATION] [--max-events N] [--json]
  queuelab sweep FILE|PRESET --set PATH=VALUES [--set ...] [--seeds N] [--seed N] [--until DURATION]
                 [--metric PATH] [--csv FILE] [--svg FILE] [--jobs N]
  queuelab check FILE|PRESET... [--seed N] [--max-events N]
  queuelab export csv FILE|PRESET|LINK [--seed N] [--until DURATION] [--out FILE.csv]
  queuelab export svg FILE|PRESET|LINK [--out FILE.svg]
  queuelab definitions import DEFINITIONS.json [--vhost NAME] [--out SCENARIO.json]
  queuelab definitions export FILE|PRESET [--out DEFINITIONS.json]
  queuelab lessons list|check [FILE...]|schema
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
  compare    run every variant of a scenario's `variants` block under one seed
             (common random numbers) and print a table, one column per variant
               --json            print the seed and every variant's report as JSON
  sweep      run a grid of field values (the product of every --set), each
             point with the same seeds, in parallel; print mean ± 95% CI
               --set PATH=VALUES a..b, a..b:step or a comma list (1,2,4 or 10/s,20/s)
               --seeds N         seeds per point (default 5): seed, seed+1, …
               --metric PATH     a report path (or throughput_per_s) to add; the
                                 first given is the one plotted (default: latency mean)
               --csv FILE        write the table as CSV;  --svg FILE  plot it
               --jobs N          threads (default: the machine's cores)
  check      run each scenario to its duration and check its `expect` block;
             prints every failed expectation with the measured value
               --seed N          seed for every scenario (default: each one's own)
               --max-events N    a run's budget, as for run; one it stops before
                                 its duration fails (default 1000000000)
  lessons    list     the built-in guided lessons
             check    play every step of every built-in lesson (or of FILE...)
                      natively; fails if a step's scenario is invalid, a
                      highlighted node does not exist, or a question cannot be
                      answered from the run
             schema   print the JSON Schema of the lesson format
  export csv write the run's time series (one row per sample: counters, levels,
             latency, depth and unacked per queue, lag per group) as CSV
  export svg write the topology (nodes, edges, labels; laid out as the app
             does, saved positions included) as a standalone SVG
  definitions
             import  turn a RabbitMQ definitions.json (exchanges, queues, bindings,
                     policies, queue arguments) into a scenario; what was not
                     understood is listed on stderr
             export  write a scenario's topology as definitions RabbitMQ imports
  link       print a share link to a scenario file or preset (the last line is the link)
               --seed N          seed (default: the scenario's)
               --base URL        address of the app to put before #v1.… (default: none)
  validate   check a scenario file; prints every problem with its JSON path
  schema     print the JSON Schema of the scenario format
  list       list the presets with their titles

EXIT STATUS: 0 success, 2 invalid scenario, link or arguments, 1 a failed
expectation (check) or other failure";

/// `--max-events` when not given (also the budget of `check`).
const DEFAULT_MAX_EVENTS: u64 = 1_000_000_000;

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
                format!(
                    "no file or preset named {:?}, and as a link: {e}",
                    scenario::clip(&text, 60)
                )
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
        max_events: DEFAULT_MAX_EVENTS,
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
        if (is_link && for_run_only.contains(&flag))
            || (!is_link && flag == "--base")
            || (command == "compare" && flag == "--trace")
        {
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
        return Err(usage_error(
            if is_link {
                "link needs a scenario file or preset name"
            } else {
                "run needs a scenario file, preset name or link"
            }
            .replace("run", command),
        ));
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
                    // Every kind the scenario has, none it lacks.
                    let counts = [
                        (s.producers.len(), "producer"),
                        (s.exchanges.len(), "exchange"),
                        (s.queues.len(), "queue"),
                        (s.consumers.len(), "consumer"),
                        (s.topics.len(), "topic"),
                        (s.consumer_groups.len(), "consumer group"),
                        (s.redis_pubsub.len(), "redis pubsub server"),
                        (s.redis_subscribers.len(), "redis subscriber"),
                        (s.redis_streams.len(), "redis stream"),
                        (s.redis_groups.len(), "redis group"),
                        (s.pulsar_topics.len(), "pulsar topic"),
                        (s.pulsar_subscriptions.len(), "pulsar subscription"),
                    ];
                    let parts: Vec<String> = counts
                        .iter()
                        .filter(|(n, _)| *n > 0)
                        .map(|(n, what)| format!("{n} {what}{}", if *n == 1 { "" } else { "s" }))
                        .collect();
                    writeln!(
                        out,
                        "{}: ok — {:?}: {}",
                        file.display(),
                        s.title,
                        if parts.is_empty() { "no nodes".to_string() } else { parts.join(", ") }
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
        "run" => run::run(&parse_run(&args[1..], "run")?, out),
        "check" => check::check(&args[1..], out),
        "compare" => compare::compare(&parse_run(&args[1..], "compare")?, out),
        "sweep" => compare::sweep(&args[1..], out),
        "definitions" => files::definitions(&args[1..], out),
        "export" => files::export(&args[1..], out),
        "lessons" => check::lessons(&args[1..], out),
        "link" => run::link(&parse_run(&args[1..], "link")?, out),
        _ => Err(usage_error(format!(
            "unknown command {cmd:?}; use run, compare, sweep, check, lessons, definitions, export, link, validate, schema or list"
        ))),
    }
}

/// Run `engine` up to `until` in chunks, spending at most `budget` units of
/// work (a burst counts one per message it creates). Returns whether it got there.
fn run_to(engine: &mut Engine, until: SimTime, budget: u64) -> bool {
    let mut left = budget;
    while left > 0 {
        let o = engine.run_until(until, left.min(50_000));
        left = left.saturating_sub(o.work);
        if o.reached {
            return true;
        }
    }
    false
}
