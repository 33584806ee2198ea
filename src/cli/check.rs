//! `queuelab check` (a scenario's `expect` block against its run) and `queuelab lessons`
//! (list, check, schema): the commands a docs author runs in CI.

use super::*;

/// `queuelab check`: run each target to its duration (no trace, no time
/// series) and evaluate its `expect` block against the JSON report. Every
/// target is checked even after a failure or an invalid file, so one run
/// lists them all. A run the event budget cuts short fails: its report is
/// not the run to `duration` the expectations are about (as `compare` warns
/// of a lane cut short). Exit 2 when any file is invalid (its problems on
/// stderr), else 1 when any file failed.
pub(super) fn check(args: &[OsString], out: &mut dyn Write) -> Result<(), Failure> {
    use crate::scenario::expect::{self, Outcome};
    let io = io_failure;
    let mut seed = None;
    let mut max_events = DEFAULT_MAX_EVENTS;
    let mut targets = Vec::new();
    let mut it = args.iter();
    let number = |flag: &str, v: Option<&OsString>| -> Result<u64, Failure> {
        let v = v.ok_or_else(|| usage_error(format!("{flag} needs a value")))?;
        v.to_str()
            .and_then(|t| t.parse::<u64>().ok())
            .ok_or_else(|| usage_error(format!("{flag}: {v:?} is not a whole number")))
    };
    while let Some(a) = it.next() {
        if a == "--seed" {
            seed = Some(number("--seed", it.next())?);
        } else if a == "--max-events" {
            max_events = number("--max-events", it.next())?;
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
    let (mut failed, mut passed, mut bare, mut invalid) = (0usize, 0usize, 0usize, 0usize);
    // An invalid target: its problems go to stderr, one line to stdout, and
    // the others are still checked.
    let mut refuse = |label: &str, message: &str, out: &mut dyn Write| {
        invalid += 1;
        warn(message);
        writeln!(
            out,
            "{label}: INVALID — not checked (the problems are on stderr)"
        )
        .map_err(io)
    };
    for target in targets {
        let label = crate::scenario::clip(&target.to_string_lossy(), 80);
        let (name, scenario) = match load_target(target) {
            Ok(Target::Scenario { name, scenario }) => (name, scenario),
            Ok(Target::Link(_)) => {
                refuse(
                    &label,
                    &format!("{label}: check takes scenario files or presets, not links"),
                    out,
                )?;
                continue;
            }
            Err(f) => {
                refuse(&label, &f.message, out)?;
                continue;
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
        let mut engine = match Engine::new(scenario, seed) {
            Ok(e) => e,
            Err(e) => {
                refuse(&name, &format!("{name}: {e}"), out)?;
                continue;
            }
        };
        engine.set_series(false);
        if !run_to(&mut engine, until, max_events) {
            failed += 1;
            writeln!(
                out,
                "{name}: FAILED — the run stopped at --max-events {max_events} at {} before \
                 its duration {duration} (seed {seed}); its {} expectation{} were not checked",
                engine.now(),
                exps.len(),
                if exps.len() == 1 { "" } else { "s" },
            )
            .map_err(io)?;
            continue;
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
    let invalid_text = if invalid > 0 {
        format!(", {invalid} invalid")
    } else {
        String::new()
    };
    writeln!(
        out,
        "{passed} passed, {failed} failed, {bare} without expectations{invalid_text}"
    )
    .map_err(io)?;
    if invalid > 0 {
        return Err(Failure {
            code: 2,
            message: format!("{invalid} scenario(s) invalid, {failed} failed"),
        });
    }
    if failed > 0 {
        return Err(Failure {
            code: 1,
            message: format!("{failed} scenario(s) failed their expectations"),
        });
    }
    Ok(())
}

/// `queuelab lessons list|check|schema`.
pub(super) fn lessons(args: &[OsString], out: &mut dyn Write) -> Result<(), Failure> {
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
            // A lesson's text, or why it is not one (invalid input: exit 2).
            let mut items: Vec<(String, Result<String, String>)> = Vec::new();
            if args.len() == 1 {
                for l in lesson::lessons() {
                    items.push((l.name.to_string(), Ok(l.json.to_string())));
                }
            } else {
                for f in &args[1..] {
                    let path = Path::new(f);
                    let bytes = read_scenario_file(path)?;
                    let name = path
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_else(|| path.display().to_string());
                    let text = String::from_utf8(bytes).map_err(|e| {
                        format!(
                            "not UTF-8 text (a bad byte at offset {})",
                            e.utf8_error().valid_up_to()
                        )
                    });
                    items.push((name, text));
                }
            }
            let (mut failed, mut invalid) = (0usize, 0usize);
            for (name, text) in &items {
                // Not a lesson (not UTF-8, not JSON, a field wrong): invalid.
                let parsed = text
                    .as_deref()
                    .map_err(|e| e.clone())
                    .and_then(|t| lesson::parse(t.strip_prefix('\u{feff}').unwrap_or(t)));
                let l = match parsed {
                    Ok(l) => l,
                    Err(why) => {
                        invalid += 1;
                        writeln!(out, "{name}: INVALID lesson").map_err(io)?;
                        for line in why.lines() {
                            writeln!(out, "  {line}").map_err(io)?;
                        }
                        continue;
                    }
                };
                let verdict = lesson::play(name, &l).map(|results| (l, results));
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
            let invalid_text = if invalid > 0 {
                format!(", {invalid} invalid")
            } else {
                String::new()
            };
            writeln!(
                out,
                "{} lessons, {} passed, {failed} failed{invalid_text}",
                items.len(),
                items.len() - failed - invalid
            )
            .map_err(io)?;
            if invalid > 0 {
                return Err(Failure {
                    code: 2,
                    message: format!("{invalid} lesson file(s) invalid, {failed} failed"),
                });
            }
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
