//! Files in and out: `queuelab export csv` (the time series) and `queuelab definitions
//! import|export` (RabbitMQ definitions, see `crate::definitions`).

use super::*;

/// `queuelab export csv`: run like `run` (a file, preset or link, its seed and
/// commands) with the time series kept, then write it as CSV.
pub(super) fn export(args: &[OsString], out: &mut dyn Write) -> Result<(), Failure> {
    let io = io_failure;
    let what = args.first().and_then(|a| a.to_str()).unwrap_or("");
    if what != "csv" && what != "svg" {
        return Err(usage_error(
            "export takes csv (the time series) or svg (the topology); the PNG of a moment and the animation are exported from the app",
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
            "export csv takes --seed, --until and --max-events; export svg takes none of them",
        ));
    }
    if what == "svg" {
        // The topology does not depend on a run: a run option would be
        // silently ignored, so it is refused as the message says.
        let given = [
            ("--seed", a.seed.is_some()),
            ("--until", a.until_us.is_some()),
            ("--max-events", a.max_events != DEFAULT_MAX_EVENTS),
        ];
        if let Some((flag, _)) = given.iter().find(|(_, set)| *set) {
            return Err(usage_error(format!(
                "export svg does not take {flag} (the topology is the same for any run); only --out"
            )));
        }
        return export_svg(&a.target, out_path, out);
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
    let mut engine = if commands.is_empty() {
        let mut e = Engine::new(scenario, seed).map_err(|e| Failure {
            code: 2,
            message: format!("{name}: {e}"),
        })?;
        run_to(&mut e, until, a.max_events);
        e
    } else {
        Engine::replay(scenario, seed, &commands, until).map_err(|e| Failure {
            code: 2,
            message: format!("the link cannot be replayed: {e}"),
        })?
    };
    let text = crate::export::series_csv(&config, &engine.series_to_now());
    match out_path {
        Some(p) => std::fs::write(&p, text).map_err(|e| Failure {
            code: 1,
            message: format!("cannot write {}: {e}", p.display()),
        })?,
        None => out.write_all(text.as_bytes()).map_err(io)?,
    }
    Ok(())
}

/// `queuelab export svg`: the topology as the app lays it out (its saved
/// positions included), as a standalone SVG — the same file the app's
/// "Export SVG" gives for the same scenario.
fn export_svg(
    target: &OsString,
    out_path: Option<PathBuf>,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let (name, scenario) = match load_target(target)? {
        Target::Scenario { name, scenario } => (name, scenario),
        Target::Link(link) => ("link".to_string(), link.scenario),
    };
    let title = scenario.title.clone();
    let saved = scenario.layout.clone();
    let engine = Engine::new(scenario, 1).map_err(|e| Failure {
        code: 2,
        message: format!("{name}: {e}"),
    })?;
    let layout = crate::layout::Layout::compute(&engine, &saved, usize::MAX / 4);
    let text = crate::svg::topology_svg(&layout, &title);
    match out_path {
        Some(p) => std::fs::write(&p, text).map_err(|e| Failure {
            code: 1,
            message: format!("cannot write {}: {e}", p.display()),
        }),
        None => out.write_all(text.as_bytes()).map_err(io_failure),
    }
}

/// `queuelab definitions import|export`: see `crate::definitions`.
pub(super) fn definitions(args: &[OsString], out: &mut dyn Write) -> Result<(), Failure> {
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
