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
  queuelab compare FILE|PRESET [--seed N] [--until DURATION] [--max-events N] [--json]
  queuelab sweep FILE|PRESET --set PATH=VALUES [--set ...] [--seeds N] [--seed N] [--until DURATION]
                 [--metric PATH] [--csv FILE] [--svg FILE] [--jobs N]
  queuelab check FILE|PRESET... [--seed N]
  queuelab export csv FILE|PRESET|LINK [--seed N] [--until DURATION] [--out FILE.csv]
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
  lessons    list     the built-in guided lessons
             check    play every step of every built-in lesson (or of FILE...)
                      natively; fails if a step's scenario is invalid, a
                      highlighted node does not exist, or a question cannot be
                      answered from the run
             schema   print the JSON Schema of the lesson format
  export csv write the run's time series (one row per sample: counters, levels,
             latency, depth and unacked per queue) as CSV
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
        "check" => check(&args[1..], out),
        "compare" => compare(&parse_run(&args[1..], "compare")?, out),
        "sweep" => sweep(&args[1..], out),
        "definitions" => definitions(&args[1..], out),
        "export" => export(&args[1..], out),
        "lessons" => lessons(&args[1..], out),
        "link" => link(&parse_run(&args[1..], "link")?, out),
        _ => Err(usage_error(format!(
            "unknown command {cmd:?}; use run, compare, sweep, check, lessons, definitions, export, link, validate, schema or list"
        ))),
    }
}

/// `queuelab check`: run each target to its duration (no trace, no time
/// series) and evaluate its `expect` block against the JSON report. Every
/// target is checked even after a failure, so one run lists them all.
fn check(args: &[OsString], out: &mut dyn Write) -> Result<(), Failure> {
    use crate::scenario::expect::{self, Outcome};
    let io = io_failure;
    let mut seed = None;
    let mut targets = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--seed" {
            let v = it
                .next()
                .ok_or_else(|| usage_error("--seed needs a value"))?;
            let n = v
                .to_str()
                .and_then(|t| t.parse::<u64>().ok())
                .ok_or_else(|| usage_error(format!("--seed: {v:?} is not a whole number")))?;
            seed = Some(n);
        } else if a.to_str().is_some_and(|t| t.starts_with("--")) {
            return Err(usage_error(format!("check: unknown option {a:?}")));
        } else {
            targets.push(a);
        }
    }
    if targets.is_empty() {
        return Err(usage_error(
            "check needs at least one scenario file or preset",
        ));
    }
    let (mut failed, mut passed, mut bare) = (0usize, 0usize, 0usize);
    for target in targets {
        let (name, scenario) = match load_target(target)? {
            Target::Scenario { name, scenario } => (name, scenario),
            Target::Link(_) => {
                return Err(usage_error(
                    "check takes scenario files or presets, not links",
                ))
            }
        };
        let exps: Vec<_> = scenario
            .expect
            .iter()
            .map(|t| expect::parse(t).expect("validated when loaded"))
            .collect();
        if exps.is_empty() {
            bare += 1;
            writeln!(out, "{name}: no expectations (add an `expect` block)").map_err(io)?;
            continue;
        }
        let until = SimTime(scenario.duration.us());
        let duration = scenario.duration;
        let seed = seed.unwrap_or(scenario.seed);
        let mut engine = Engine::new(scenario, seed).map_err(|e| Failure {
            code: 2,
            message: format!("{name}: {e}"),
        })?;
        engine.set_series(false);
        let mut budget = DEFAULT_MAX_EVENTS;
        while budget > 0 {
            let o = engine.run_until(until, budget.min(50_000));
            budget = budget.saturating_sub(o.work);
            if o.reached {
                break;
            }
        }
        let report = serde_json::to_value(engine.report(&name)).expect("report serializes");
        let bad: Vec<(usize, String)> = exps
            .iter()
            .enumerate()
            .filter_map(|(i, e)| match expect::evaluate(e, &report) {
                Outcome::Pass => None,
                Outcome::Fail { measured, against } => Some((
                    i,
                    format!("{e}: measured {measured}, compared with {against}"),
                )),
                Outcome::Error(why) => Some((i, format!("{e}: {why}"))),
            })
            .collect();
        if bad.is_empty() {
            passed += 1;
            writeln!(
                out,
                "{name}: ok — {} expectation{} hold (seed {seed}, {duration})",
                exps.len(),
                if exps.len() == 1 { "" } else { "s" },
            )
            .map_err(io)?;
        } else {
            failed += 1;
            writeln!(
                out,
                "{name}: FAILED — {} of {} expectations (seed {seed}, {duration})",
                bad.len(),
                exps.len(),
            )
            .map_err(io)?;
            for (i, line) in bad {
                writeln!(out, "  expect[{i}] {line}").map_err(io)?;
            }
        }
    }
    writeln!(
        out,
        "{passed} passed, {failed} failed, {bare} without expectations"
    )
    .map_err(io)?;
    if failed > 0 {
        return Err(Failure {
            code: 1,
            message: format!("{failed} scenario(s) failed their expectations"),
        });
    }
    Ok(())
}

/// `queuelab lessons list|check|schema`.
fn lessons(args: &[OsString], out: &mut dyn Write) -> Result<(), Failure> {
    use crate::lesson;
    let io = io_failure;
    let sub = args.first().and_then(|a| a.to_str()).unwrap_or("");
    match sub {
        "list" if args.len() == 1 => {
            for l in lesson::lessons() {
                let title = lesson::parse(l.json)
                    .map(|p| p.title)
                    .unwrap_or_else(|e| format!("(invalid: {e})"));
                writeln!(out, "{:<30} {title}", l.name).map_err(io)?;
            }
            Ok(())
        }
        "schema" if args.len() == 1 => {
            let text =
                serde_json::to_string_pretty(&lesson::json_schema()).expect("schema serializes");
            writeln!(out, "{text}").map_err(io)?;
            Ok(())
        }
        "check" => {
            let mut items: Vec<(String, String)> = Vec::new();
            if args.len() == 1 {
                for l in lesson::lessons() {
                    items.push((l.name.to_string(), l.json.to_string()));
                }
            } else {
                for f in &args[1..] {
                    let path = Path::new(f);
                    let bytes = read_scenario_file(path)?;
                    let name = path
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_else(|| path.display().to_string());
                    items.push((name, String::from_utf8_lossy(&bytes).into_owned()));
                }
            }
            let mut failed = 0usize;
            for (name, text) in &items {
                let verdict = lesson::parse(text).and_then(|l| {
                    let results = lesson::play(name, &l)?;
                    Ok((l, results))
                });
                match verdict {
                    Ok((l, results)) => {
                        let asked = l.steps.iter().filter(|s| s.predict.is_some()).count();
                        writeln!(
                            out,
                            "{name}: ok — {} steps, {asked} questions answerable from the run",
                            l.steps.len()
                        )
                        .map_err(io)?;
                        // The outcome of each question, as the player shows it.
                        for (i, (step, r)) in l.steps.iter().zip(&results).enumerate() {
                            let Some(p) = &step.predict else { continue };
                            let answer = match (r.right_choice, r.number, &p.number) {
                                (Some(k), _, _) => format!("{:?}", p.choices[k].text),
                                (_, Some(x), Some(n)) => {
                                    format!(
                                        "{x:.1}{}",
                                        n.unit
                                            .as_deref()
                                            .map(|u| format!(" {u}"))
                                            .unwrap_or_default()
                                    )
                                }
                                _ => "?".into(),
                            };
                            writeln!(out, "  steps[{i}] {answer}").map_err(io)?;
                        }
                    }
                    Err(why) => {
                        failed += 1;
                        writeln!(out, "{name}: FAILED").map_err(io)?;
                        for line in why.lines() {
                            writeln!(out, "  {line}").map_err(io)?;
                        }
                    }
                }
            }
            writeln!(
                out,
                "{} lessons, {} passed, {failed} failed",
                items.len(),
                items.len() - failed
            )
            .map_err(io)?;
            if failed > 0 {
                return Err(Failure {
                    code: 1,
                    message: format!("{failed} lesson(s) failed"),
                });
            }
            Ok(())
        }
        _ => Err(usage_error("lessons takes list, check [FILE...] or schema")),
    }
}

/// `queuelab export csv`: run like `run` (a file, preset or link, its seed and
/// commands) with the time series kept, then write it as CSV.
fn export(args: &[OsString], out: &mut dyn Write) -> Result<(), Failure> {
    let io = io_failure;
    if args.first().and_then(|a| a.to_str()) != Some("csv") {
        return Err(usage_error(
            "export takes csv (the SVG and PNG of the picture are exported from the app)",
        ));
    }
    let mut rest: Vec<OsString> = Vec::new();
    let mut out_path: Option<PathBuf> = None;
    let mut it = args[1..].iter();
    while let Some(a) = it.next() {
        if a == "--out" {
            out_path = Some(PathBuf::from(
                it.next().ok_or_else(|| usage_error("--out needs a file"))?,
            ));
        } else {
            rest.push(a.clone());
        }
    }
    let a = parse_run(&rest, "export")?;
    if a.json || a.trace.is_some() {
        return Err(usage_error(
            "export csv takes --seed, --until and --max-events",
        ));
    }
    let (name, scenario, seed, commands) = match load_target(&a.target)? {
        Target::Scenario { name, scenario } => {
            let seed = a.seed.unwrap_or(scenario.seed);
            (name, scenario, seed, Vec::new())
        }
        Target::Link(link) => ("link".to_string(), link.scenario, link.seed, link.commands),
    };
    let until = SimTime(a.until_us.unwrap_or(scenario.duration.us()));
    let config = scenario.clone();
    let engine = if commands.is_empty() {
        let mut e = Engine::new(scenario, seed).map_err(|e| Failure {
            code: 2,
            message: format!("{name}: {e}"),
        })?;
        let mut budget = a.max_events;
        while budget > 0 {
            let o = e.run_until(until, budget.min(50_000));
            budget = budget.saturating_sub(o.work);
            if o.reached {
                break;
            }
        }
        e
    } else {
        Engine::replay(scenario, seed, &commands, until).map_err(|e| Failure {
            code: 2,
            message: format!("the link cannot be replayed: {e}"),
        })?
    };
    let text = crate::export::series_csv(&config, engine.series());
    match out_path {
        Some(p) => std::fs::write(&p, text).map_err(|e| Failure {
            code: 1,
            message: format!("cannot write {}: {e}", p.display()),
        })?,
        None => out.write_all(text.as_bytes()).map_err(io)?,
    }
    Ok(())
}

/// `queuelab definitions import|export`: see `crate::definitions`.
fn definitions(args: &[OsString], out: &mut dyn Write) -> Result<(), Failure> {
    let io = io_failure;
    let sub = args.first().and_then(|a| a.to_str()).unwrap_or("");
    let mut file: Option<&OsString> = None;
    let (mut vhost, mut out_path): (Option<String>, Option<PathBuf>) = (None, None);
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        match a.to_str().unwrap_or("") {
            "--vhost" if sub == "import" => {
                vhost = Some(
                    it.next()
                        .and_then(|v| v.to_str())
                        .ok_or_else(|| usage_error("--vhost needs a name"))?
                        .to_string(),
                )
            }
            "--out" => {
                out_path = Some(PathBuf::from(
                    it.next().ok_or_else(|| usage_error("--out needs a file"))?,
                ))
            }
            f if f.starts_with("--") => {
                return Err(usage_error(format!(
                    "definitions {sub}: unknown option {f}"
                )))
            }
            _ if file.is_some() => return Err(usage_error("definitions takes one file")),
            _ => file = Some(a),
        }
    }
    let file = file.ok_or_else(|| usage_error("definitions import|export needs a file"))?;
    let (text, notes) = match sub {
        "import" => {
            let path = Path::new(file);
            let bytes = read_scenario_file(path)?;
            let text = String::from_utf8_lossy(&bytes);
            let imported =
                crate::definitions::import(&text, vhost.as_deref()).map_err(|e| Failure {
                    code: 2,
                    message: format!("{}: {e}", path.display()),
                })?;
            let json = serde_json::to_string_pretty(&imported.json).expect("serializes");
            (json, imported.notes)
        }
        "export" => {
            let scenario = match load_target(file)? {
                Target::Scenario { scenario, .. } => scenario,
                Target::Link(l) => l.scenario,
            };
            let (doc, notes) = crate::definitions::export(&scenario);
            (
                serde_json::to_string_pretty(&doc).expect("serializes"),
                notes,
            )
        }
        _ => return Err(usage_error("definitions takes import or export")),
    };
    for n in &notes {
        warn(&format!("note: {n}"));
    }
    match out_path {
        Some(p) => std::fs::write(&p, text + "\n").map_err(|e| Failure {
            code: 1,
            message: format!("cannot write {}: {e}", p.display()),
        })?,
        None => writeln!(out, "{text}").map_err(io)?,
    }
    Ok(())
}

/// `queuelab sweep`: see `crate::sweep`.
fn sweep(args: &[OsString], out: &mut dyn Write) -> Result<(), Failure> {
    use crate::sweep;
    let io = io_failure;
    let mut target: Option<&OsString> = None;
    let (mut axes, mut metrics) = (Vec::new(), Vec::new());
    let (mut n_seeds, mut seed, mut until_us, mut jobs) = (5usize, None, None, None);
    let (mut csv_path, mut svg_path): (Option<PathBuf>, Option<PathBuf>) = (None, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let flag = a.to_str().unwrap_or("");
        let mut value = |f: &str| -> Result<String, Failure> {
            let v = it
                .next()
                .ok_or_else(|| usage_error(format!("{f} needs a value")))?;
            v.to_str()
                .map(str::to_string)
                .ok_or_else(|| usage_error(format!("{f}: {v:?} is not UTF-8 text")))
        };
        let whole = |f: &str, v: &str| {
            v.parse::<u64>()
                .map_err(|_| usage_error(format!("{f}: {v:?} is not a whole number")))
        };
        match flag {
            "--set" => axes.push(sweep::parse_axis(&value("--set")?).map_err(usage_error)?),
            "--metric" => metrics.push(value("--metric")?),
            "--seeds" => {
                let v = value("--seeds")?;
                n_seeds = whole("--seeds", &v)?.clamp(1, sweep::RUNS_MAX as u64) as usize;
            }
            "--seed" => {
                let v = value("--seed")?;
                seed = Some(whole("--seed", &v)?);
            }
            "--jobs" => {
                let v = value("--jobs")?;
                jobs = Some(whole("--jobs", &v)?.clamp(1, 64) as usize);
            }
            "--until" => {
                let v = value("--until")?;
                until_us = Some(
                    parse_duration(&v)
                        .map_err(|e| usage_error(format!("--until: {e}")))?
                        .us(),
                );
            }
            "--csv" => csv_path = Some(PathBuf::from(value("--csv")?)),
            "--svg" => svg_path = Some(PathBuf::from(value("--svg")?)),
            f if f.starts_with("--") => {
                return Err(usage_error(format!("sweep: unknown option {f}")))
            }
            _ if target.is_some() => return Err(usage_error("sweep takes one scenario")),
            _ => target = Some(a),
        }
    }
    let target = target.ok_or_else(|| usage_error("sweep needs a scenario file or preset"))?;
    if axes.is_empty() {
        return Err(usage_error("sweep needs at least one --set PATH=VALUES"));
    }
    let (name, scenario) = match load_target(target)? {
        Target::Scenario { name, scenario } => (name, scenario),
        Target::Link(_) => {
            return Err(usage_error(
                "sweep takes a scenario file or preset, not a link",
            ))
        }
    };
    if metrics.is_empty() {
        metrics = sweep::default_metrics();
    } else {
        for m in sweep::default_metrics() {
            if !metrics.contains(&m) {
                metrics.push(m);
            }
        }
    }
    let plan = sweep::Plan {
        until_us: until_us.unwrap_or(scenario.duration.us()),
        seeds: sweep::seeds(seed.unwrap_or(scenario.seed), n_seeds),
        scenario,
        axes,
        metrics,
    };
    let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let result = sweep::run(&plan, jobs).map_err(|e| Failure {
        code: 2,
        message: format!("{name}: {e}"),
    })?;
    writeln!(
        out,
        "{name}: {} points × {} seeds, {} each (common random numbers)",
        result.points.len(),
        plan.seeds.len(),
        scenario::Duration(plan.until_us)
    )
    .map_err(io)?;
    write!(out, "{}", sweep::table(&plan, &result)).map_err(io)?;
    let write_file = |path: &PathBuf, text: String| {
        std::fs::write(path, text).map_err(|e| Failure {
            code: 1,
            message: format!("cannot write {}: {e}", path.display()),
        })
    };
    if let Some(p) = &csv_path {
        write_file(p, sweep::csv(&plan, &result))?;
    }
    if let Some(p) = &svg_path {
        write_file(p, sweep::svg(&plan, &result, &format!("{name}: what if")))?;
    }
    Ok(())
}

/// `queuelab compare`: every variant of the scenario, one seed, side by side.
fn compare(a: &RunArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let io = io_failure;
    let (name, scenario) = match load_target(&a.target)? {
        Target::Scenario { name, scenario } => (name, scenario),
        Target::Link(link) => ("link".to_string(), link.scenario),
    };
    if scenario.variants.is_empty() {
        return Err(Failure {
            code: 2,
            message: format!(
                "{name}: has no `variants` block to compare (add two to four {{\"name\", \"set\"}} entries)"
            ),
        });
    }
    let seed = a.seed.unwrap_or(scenario.seed);
    let until = SimTime(a.until_us.unwrap_or(scenario.duration.us()));
    let span = crate::scenario::Duration(until.0);
    let mut base = scenario.clone();
    base.variants.clear();
    let mut lanes: Vec<(String, serde_json::Value)> = Vec::new();
    for v in &scenario.variants {
        let s = scenario::patch::apply(&base, &v.set).map_err(|e| Failure {
            code: 2,
            message: format!("{name}: variant {:?}: {e}", v.name),
        })?;
        let mut engine = Engine::new(s, seed).map_err(|e| Failure {
            code: 2,
            message: format!("{name}: variant {:?}: {e}", v.name),
        })?;
        engine.set_series(false);
        let mut budget = a.max_events;
        while budget > 0 {
            let o = engine.run_until(until, budget.min(50_000));
            budget = budget.saturating_sub(o.work);
            if o.reached {
                break;
            }
        }
        if budget == 0 {
            warn(&format!(
                "variant {:?} stopped at --max-events {} before {until}",
                v.name, a.max_events
            ));
        }
        let report = serde_json::to_value(engine.report(&name)).expect("report serializes");
        lanes.push((v.name.clone(), report));
    }
    if a.json {
        let v = serde_json::json!({
            "scenario": name,
            "seed": seed,
            "sim_time_us": until.0,
            "variants": lanes.iter().map(|(n, r)| serde_json::json!({"name": n, "report": r})).collect::<Vec<_>>(),
        });
        let text = serde_json::to_string_pretty(&v).expect("serializes");
        writeln!(out, "{text}").map_err(io)?;
        return Ok(());
    }
    writeln!(
        out,
        "{name} — seed {seed}, {span}, {} variants (common random numbers)",
        lanes.len()
    )
    .map_err(io)?;
    let rows: [(&str, &str); 14] = [
        ("published", "totals.published"),
        ("delivered", "totals.delivered"),
        ("redelivered", "totals.redelivered"),
        ("processed", "totals.processed"),
        ("failed", "totals.failed"),
        ("retried", "totals.retried"),
        ("dead-lettered", "totals.dead_lettered"),
        ("expired", "totals.expired"),
        ("dropped", "totals.dropped"),
        (
            "lost after auto-ack",
            "dropped_by_reason.lost_after_auto_ack",
        ),
        ("in flight", "totals.in_flight"),
        ("latency mean ms", "latency_us.end_to_end.mean"),
        ("latency p50 ms", "latency_us.end_to_end.p50"),
        ("latency p99 ms", "latency_us.end_to_end.p99"),
    ];
    let width = lanes
        .iter()
        .map(|(n, _)| n.len())
        .max()
        .unwrap_or(0)
        .max(10);
    let mut line = format!("{:<22}", "");
    for (n, _) in &lanes {
        line.push_str(&format!(" {n:>width$}"));
    }
    writeln!(out, "{line}").map_err(io)?;
    for (label, path) in rows {
        let e = crate::scenario::expect::parse(&format!("{path} == 0")).expect("a fixed path");
        let mut line = format!("{label:<22}");
        for (_, r) in &lanes {
            let cell = match crate::scenario::expect::lookup(r, &e.path)
                .ok()
                .and_then(|v| v.as_f64())
            {
                Some(x) if path.starts_with("latency_us") => format!("{:.1}", x / 1000.0),
                Some(x) => format!("{x:.0}"),
                None => "—".to_string(),
            };
            line.push_str(&format!(" {cell:>width$}"));
        }
        writeln!(out, "{line}").map_err(io)?;
    }
    Ok(())
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
