//! `queuelab run` and `queuelab link`: simulate a file, preset or link (replaying a link's
//! command log at its exact points) and print the text or JSON report; print a share link.

use super::*;

pub(super) fn link(a: &RunArgs, out: &mut dyn Write) -> Result<(), Failure> {
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

pub(super) fn run(a: &RunArgs, out: &mut dyn Write) -> Result<(), Failure> {
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

/// The unacked-message caps of a Pulsar subscription, when they bit: how
/// often a consumer and the subscription were blocked, and who is blocked
/// at the end (`pulsar_unacked.rs`). Empty when nothing was ever blocked.
fn pulsar_blocks_text(s: &crate::engine::view_pulsar::PulsarSubscriptionView) -> String {
    if s.consumer_blocks == 0 && s.subscription_blocks == 0 {
        return String::new();
    }
    let mut t = format!(
        ", unacked cap hit {} time(s) by a consumer, {} by the subscription",
        s.consumer_blocks, s.subscription_blocks
    );
    let now: Vec<&str> = s
        .consumers
        .iter()
        .filter(|c| c.blocked)
        .map(|c| c.name.as_str())
        .collect();
    if s.blocked {
        t.push_str("; the subscription is blocked now");
    }
    if !now.is_empty() {
        t.push_str(&format!("; blocked now: {}", now.join(", ")));
    }
    t
}

pub(super) fn ms(us: u64) -> String {
    format!("{:.1} ms", us as f64 / 1000.0)
}

pub(super) fn write_text_report(
    e: &Engine,
    name: &str,
    out: &mut dyn Write,
) -> std::io::Result<()> {
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
    if t.ack_timeouts > 0 {
        // RabbitMQ's consumer_timeout closed a channel (`model::ack_timeout`).
        writeln!(out, "  {:<14} {:>12}", "ack timeouts", t.ack_timeouts)?;
    }
    if let Some(r) = e.success_rate() {
        // Processed over processing runs (failures, retries included).
        writeln!(out, "  {:<14} {:>11.1}%", "success rate", r * 100.0)?;
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
            NodeView::Exchange { id, exchange_kind, routed, unroutable, to_alternate } => {
                let alt = if *to_alternate > 0 { format!(", to alternate {to_alternate}") } else { String::new() };
                format!("  exchange  {id:<18} {exchange_kind}, routed {routed}, unroutable {unroutable}{alt}")
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
                let members = if live == 1 { "member" } else { "members" };
                let mut store = match g.event_store {
                    Some(e) if e.expected_version => format!(", version conflicts {} (processed again)", e.version_conflicts),
                    Some(e) => format!(", stale writes {} (no expected-version check)", e.stale_writes),
                    None => String::new(),
                };
                if let Some(e) = g.event_store.filter(|e| e.loads > 0) {
                    store.push_str(&format!(
                        ", {} aggregate loads replayed {} events ({:.1} a load), snapshots {}",
                        e.loads,
                        e.events_replayed,
                        e.events_replayed as f64 / e.loads as f64,
                        e.snapshots
                    ));
                }
                let timeouts = if g.poll_timeouts > 0 {
                    format!(", poll timeouts {}", g.poll_timeouts)
                } else {
                    String::new()
                };
                format!(
                    "  group     {:<18} {live} {members} ({idle} idle), processed {}, reprocessed {}, skipped {}, lag {} (max {}), rebalances {}{timeouts}{failures}{store}",
                    g.id, g.processed, g.reprocessed, g.skipped, g.lag, g.lag_max, g.rebalances
                )
            }
            NodeView::RedisPubSub(x) => format!(
                "  redis     {:<18} published {}, receivers {}, reached no one {}, {} subscriber(s) connected",
                x.id, x.published, x.receivers, x.no_receivers, x.connected
            ),
            NodeView::RedisSubscriber(s) => format!(
                "  subscriber {:<17} {}, handled {}, missed {}, lost {}, disconnects {} ({} by output-buffer limit), buffer {} B (max {} B)",
                s.id,
                if s.connected { "connected" } else { "away" },
                s.delivered, s.missed, s.lost, s.disconnects, s.limit_disconnects, s.buffer_bytes, s.buffer_bytes_max
            ),
            NodeView::RedisStream(s) => format!(
                "  stream    {:<18} length {}, added {}, trimmed {}, last id {}",
                s.id, s.length, s.added, s.trimmed, s.last_id
            ),
            NodeView::RedisGroup(g) => format!(
                "  xgroup    {:<18} {} consumers ({} up), delivered {}, acked {}, pending {}, claimed {}, lag {}",
                g.id,
                g.consumers.len(),
                g.consumers.iter().filter(|c| c.up).count(),
                g.delivered, g.acked, g.pending, g.claimed, g.lag
            ),
            NodeView::PulsarTopic(t) => format!(
                "  pulsar    {:<18} {}, stored {} (now {}), deleted {}, held {}, refused {}",
                t.id,
                if t.partitions == 0 {
                    "non-partitioned".to_string()
                } else {
                    format!("{} partitions", t.partitions)
                },
                t.stored, t.stored_now, t.deleted, t.held, t.refused
            ),
            NodeView::PulsarSubscription(s) => format!(
                "  pulsarsub {:<18} {} on {}, {} consumers ({} up), delivered {}, redelivered {}, acked {}, nacked {}, ack timeouts {}, dead-lettered {}, backlog {}{}",
                s.id,
                s.sub_type,
                s.topic,
                s.consumers.len(),
                s.consumers.iter().filter(|c| c.up).count(),
                s.delivered, s.redelivered, s.acked, s.nacked, s.ack_timeouts, s.dead_lettered, s.backlog,
                pulsar_blocks_text(s)
            ),
        };
        writeln!(out, "{line}")?;
    }
    let alerts = e.alerts();
    if !alerts.is_empty() {
        writeln!(out)?;
        writeln!(out, "alerts")?;
        for a in alerts {
            let first = a
                .first_fired_s
                .map(|t| format!(", first at {t:.3}s"))
                .unwrap_or_default();
            let now = if a.value_text.is_empty() {
                String::new()
            } else {
                format!(", now {}", a.value_text)
            };
            let now = match a.kept_since_s {
                Some(t) => format!("{now} (false since {t:.3}s, kept by keep_firing_for)"),
                None => now,
            };
            writeln!(
                out,
                "  {:<18} {} on {}: {}, fired {} time(s){first}, firing {}{now}",
                a.id,
                a.rule,
                a.node,
                a.state,
                a.fired,
                ms(a.firing_ms.round() as u64 * 1000),
            )?;
        }
    }
    Ok(())
}
