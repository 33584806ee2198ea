//! `queuelab compare` (a scenario's variants side by side under one seed) and
//! `queuelab sweep` (a grid of field values over several seeds, see `crate::sweep`).

use super::*;

/// `queuelab compare`: every variant of the scenario, one seed, side by side.
pub(super) fn compare(a: &RunArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let io = io_failure;
    let (name, scenario) = match load_target(&a.target)? {
        Target::Scenario { name, scenario } => (name, scenario),
        Target::Link(link) => ("link".to_string(), link.scenario),
    };
    if scenario.variants.is_empty() {
        return Err(Failure {
            code: 2,
            message: format!(
                "{name}: has no `variants` block to compare (add two to {} {{\"name\", \"set\"}} entries)",
                crate::scenario::VARIANTS_MAX
            ),
        });
    }
    let seed = a.seed.unwrap_or(scenario.seed);
    let until = SimTime(a.until_us.unwrap_or(scenario.duration.us()));
    let span = crate::scenario::Duration(until.0);
    let mut base = scenario.clone();
    base.variants.clear();
    let mut lanes: Vec<(String, serde_json::Value)> = Vec::new();
    // Per lane: its scenario and what it measured, for the broker table.
    let mut rows: Vec<(Scenario, crate::engine::Measured)> = Vec::new();
    for v in &scenario.variants {
        let s = scenario::patch::apply(&base, &v.set).map_err(|e| Failure {
            code: 2,
            message: format!("{name}: variant {:?}: {e}", v.name),
        })?;
        let mut engine = Engine::new(s.clone(), seed).map_err(|e| Failure {
            code: 2,
            message: format!("{name}: variant {:?}: {e}", v.name),
        })?;
        engine.set_series(false);
        if !run_to(&mut engine, until, a.max_events) {
            warn(&format!(
                "variant {:?} stopped at --max-events {} before {until}",
                v.name, a.max_events
            ));
        }
        let report = serde_json::to_value(engine.report(&name)).expect("report serializes");
        lanes.push((v.name.clone(), report));
        rows.push((s, engine.measured()));
    }
    if a.json {
        let v = serde_json::json!({
            "scenario": name,
            "seed": seed,
            "sim_time_us": until.0,
            "variants": lanes.iter().zip(&rows).map(|((n, r), (s, m))| serde_json::json!({
                "name": n,
                "broker": crate::scenario::BrokerKind::label_of(s),
                "measured": m,
                "report": r,
            })).collect::<Vec<_>>(),
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
    let mut table_rows: Vec<(String, String)> = [
        ("published", "totals.published"),
        ("delivered", "totals.delivered"),
        ("redelivered", "totals.redelivered"),
        ("processed", "totals.processed"),
        ("failed", "totals.failed"),
        ("success rate", "success_rate"),
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
    ]
    .iter()
    .map(|(l, p)| (l.to_string(), p.to_string()))
    .collect();
    // The queue ledger, where any lane has business messages.
    if lanes
        .iter()
        .any(|(_, r)| r["ledger"]["expected"].as_u64().unwrap_or(0) > 0)
    {
        for (l, f) in [
            ("guarantee", "guarantee"),
            ("ledger: exactly once", "exactly_once"),
            ("ledger: duplicated", "duplicated"),
            ("ledger: extra effects", "extra_effects"),
            ("ledger: lost", "lost"),
            ("ledger: out of order", "out_of_order"),
            ("ledger: pending", "pending"),
            ("ledger: deduplicated", "deduplicated"),
            ("ledger: resent", "resent"),
        ] {
            table_rows.push((l.to_string(), format!("ledger.{f}")));
        }
    }
    // The log's ledger: per topic and per group, from the first lane's names.
    if let Some((_, first)) = lanes.first() {
        let streams = &first["ledger"]["streams"];
        for (kind, fields) in [
            (
                "topics",
                &[
                    "acked_lost",
                    "unacked_lost",
                    "duplicates_appended",
                    "duplicates_rejected",
                    "resent",
                ][..],
            ),
            (
                "groups",
                &[
                    "processed",
                    "reprocessed",
                    "skipped",
                    "duplicate_outputs",
                    "duplicate_committed_outputs",
                ][..],
            ),
        ] {
            if let Some(m) = streams[kind].as_object() {
                for id in m.keys() {
                    for f in fields {
                        table_rows.push((
                            format!("{id}: {}", f.replace('_', " ")),
                            format!("ledger.streams.{kind}.{id}.{f}"),
                        ));
                    }
                }
            }
        }
    }
    let width = lanes
        .iter()
        .map(|(n, _)| n.len())
        .max()
        .unwrap_or(0)
        .max(10);
    // SQS requests and their cost, when a lane has SQS queues.
    if lanes.iter().any(|(_, r)| r.get("sqs").is_some()) {
        table_rows.push(("sqs: requests".into(), "sqs.requests".into()));
        table_rows.push(("sqs: cost usd".into(), "sqs.cost_usd".into()));
    }
    // Event stores: per versioned group, its conflicts and stale writes
    // (ids in lane order, each once; a lane without the field shows -).
    let mut store_ids: Vec<String> = Vec::new();
    for (_, r) in &lanes {
        if let Some(m) = r.get("nodes").and_then(|a| a.as_object()) {
            for (id, n) in m {
                if n.get("expected_version").is_some() && !store_ids.contains(id) {
                    store_ids.push(id.clone());
                }
            }
        }
    }
    for id in store_ids {
        for (l, f) in [
            ("version conflicts", "version_conflicts"),
            ("stale writes", "stale_writes"),
            ("aggregate loads", "loads"),
            ("events replayed", "events_replayed"),
            ("snapshots", "snapshots"),
        ] {
            table_rows.push((format!("{id}: {l}"), format!("nodes.{id}.{f}")));
        }
    }
    // Alert rules: times fired, when first, time firing (ids in lane order, each once).
    let mut alert_ids: Vec<String> = Vec::new();
    for (_, r) in &lanes {
        if let Some(m) = r.get("alerts").and_then(|a| a.as_object()) {
            for id in m.keys() {
                if !alert_ids.contains(id) {
                    alert_ids.push(id.clone());
                }
            }
        }
    }
    for id in alert_ids {
        table_rows.push((format!("alert {id}: fired"), format!("alerts.{id}.fired")));
        table_rows.push((
            format!("alert {id}: first s"),
            format!("alerts.{id}.first_fired_s"),
        ));
        table_rows.push((
            format!("alert {id}: firing s"),
            format!("alerts.{id}.firing_ms"),
        ));
    }
    let label_w = table_rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(22)
        .max(22);
    let mut line = format!("{:<label_w$}", "");
    for (n, _) in &lanes {
        line.push_str(&format!(" {n:>width$}"));
    }
    writeln!(out, "{line}").map_err(io)?;
    for (label, path) in &table_rows {
        let Ok(e) = crate::scenario::expect::parse(&format!("{path} == 0")) else {
            continue;
        };
        let mut line = format!("{label:<label_w$}");
        for (_, r) in &lanes {
            let v = crate::scenario::expect::lookup(r, &e.path).ok();
            let cell = match (v.and_then(|v| v.as_f64()), v.and_then(|v| v.as_str())) {
                (Some(x), _) if path.starts_with("latency_us") => format!("{:.1}", x / 1000.0),
                (Some(x), _) if path.ends_with("cost_usd") => format!("{x:.6}"),
                (Some(x), _) if *path == "success_rate" => format!("{:.1}%", x * 100.0),
                (Some(x), _) if path.ends_with("firing_ms") => format!("{:.0}", x / 1000.0),
                (Some(x), _) if path.ends_with("_s") => format!("{x:.1}"),
                (Some(x), _) => format!("{x:.0}"),
                (None, Some(text)) => text.replace('_', "-"),
                (None, None) => "—".to_string(),
            };
            line.push_str(&format!(" {cell:>width$}"));
        }
        writeln!(out, "{line}").map_err(io)?;
    }
    // The broker comparison: one row per lane, then each broker's promise.
    let broker_rows: Vec<super::broker_table::LaneRow> = lanes
        .iter()
        .zip(&rows)
        .map(|((n, _), (s, m))| super::broker_table::LaneRow {
            name: n,
            scenario: s,
            measured: m.clone(),
        })
        .collect();
    write!(out, "{}", super::broker_table::table(&broker_rows)).map_err(io)?;
    Ok(())
}

/// `queuelab sweep`: see `crate::sweep`.
pub(super) fn sweep(args: &[OsString], out: &mut dyn Write) -> Result<(), Failure> {
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
                n_seeds = match whole("--seeds", &v)? {
                    n if (1..=sweep::RUNS_MAX as u64).contains(&n) => n as usize,
                    _ => {
                        return Err(usage_error(format!(
                            "--seeds: {v} is out of range: from 1 to {}",
                            sweep::RUNS_MAX
                        )))
                    }
                };
            }
            "--seed" => {
                let v = value("--seed")?;
                seed = Some(whole("--seed", &v)?);
            }
            "--jobs" => {
                let v = value("--jobs")?;
                jobs = match whole("--jobs", &v)? {
                    n @ 1..=64 => Some(n as usize),
                    _ => {
                        return Err(usage_error(format!(
                            "--jobs: {v} is out of range: from 1 to 64"
                        )))
                    }
                };
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
        "{name}: {} point{} × {} seed{}, {} each ({})",
        result.points.len(),
        if result.points.len() == 1 { "" } else { "s" },
        plan.seeds.len(),
        if plan.seeds.len() == 1 { "" } else { "s" },
        scenario::Duration(plan.until_us),
        if plan.seeds.len() == 1 {
            "one seed: the ± columns need two or more"
        } else {
            "common random numbers"
        }
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
