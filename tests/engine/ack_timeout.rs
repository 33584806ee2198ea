//! RabbitMQ's delivery acknowledgement timeout (`consumer_timeout`), told as
//! stories against hand-computed channel ticks (`rabbit_channel`: every
//! `channel_tick_interval`, the oldest unacked delivery, `delivered_at < now
//! − timeout`): a long job's channel closes at the first tick past the
//! timeout and everything unacked on it goes back, redelivered; a job that
//! acks in time never closes anything; a quorum queue's delivery limit ends
//! the loop of a job that always outlasts the timeout. Invariants are checked
//! after every event.

use crate::common::story;
use queuelab::engine::TraceKind;
use queuelab::scenario;
use serde_json::{json, Value};

/// One job at 1 s into `jobs` (`queue` merged over it), one worker with
/// `prefetch` and a constant `service`; `extra` merges over the scenario.
fn jobs(count: u64, service: &str, prefetch: u32, queue: Value, extra: Value) -> String {
    let mut q = json!({"id": "jobs"});
    q.as_object_mut()
        .unwrap()
        .extend(queue.as_object().unwrap().clone());
    let mut s = json!({
        "title": "ack timeout", "duration": "600s",
        "producers": [{"id": "p", "to": "jobs", "rate": "1/s", "arrival": "constant",
            "count": count}],
        "queues": [q],
        "consumers": [{"id": "w", "queue": "jobs", "prefetch": prefetch,
            "service": {"constant": service}}]
    });
    s.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    s.to_string()
}

/// (t_us, requeued, timeout_us) of every ack timeout.
fn timeouts(st: &crate::common::Story) -> Vec<(u64, u32, u64)> {
    st.matching(|k| matches!(k, TraceKind::AckTimedOut { .. }))
        .iter()
        .map(|e| match e.kind {
            TraceKind::AckTimedOut {
                requeued,
                timeout_us,
                ..
            } => (e.t.0, requeued, timeout_us),
            _ => unreachable!(),
        })
        .collect()
}

const S: u64 = 1_000_000;

#[test]
fn a_job_longer_than_the_timeout_is_taken_back_at_the_first_tick_past_it() {
    // Delivered at 1 s; ticks every 60 s from there: 61 s (60 s old, not
    // more than 90 s), 121 s (120 s old): closed at 121 s and redelivered
    // at once to the new channel, which times out again at 241 s, 361 s, …
    let st = story(
        &jobs(1, "200s", 1, json!({"consumer_timeout": "90s"}), json!({})),
        400 * S,
    );
    assert_eq!(
        timeouts(&st),
        vec![
            (121 * S, 1, 90 * S),
            (241 * S, 1, 90 * S),
            (361 * S, 1, 90 * S)
        ]
    );
    let d = st.deliveries("w");
    assert_eq!(
        d.iter().map(|d| (d.0, d.3)).collect::<Vec<_>>(),
        vec![
            (S, false),
            (121 * S, true),
            (241 * S, true),
            (361 * S, true)
        ]
    );
    assert!(
        st.processed("w").is_empty(),
        "never finishes: each run is cut at a close"
    );
    assert_eq!(st.engine.totals().ack_timeouts, 3);
}

#[test]
fn the_timeout_is_strict_and_checked_only_at_ticks() {
    // A 60 s timeout: at the 61 s tick the delivery is exactly 60 s old (not
    // more), so the channel closes at 121 s. A 10 s channel tick finds a
    // 25 s timeout at 31 s (30 s old); at 21 s it was 20 s old.
    let strict = story(
        &jobs(1, "500s", 1, json!({"consumer_timeout": "60s"}), json!({})),
        130 * S,
    );
    assert_eq!(timeouts(&strict), vec![(121 * S, 1, 60 * S)]);
    let fast = story(
        &jobs(
            1,
            "500s",
            1,
            json!({"consumer_timeout": "25s"}),
            json!({"channel_tick_interval": "10s"}),
        ),
        40 * S,
    );
    assert_eq!(timeouts(&fast), vec![(31 * S, 1, 25 * S)]);
}

#[test]
fn a_close_takes_back_everything_unacked_on_the_channel() {
    // Prefetch 3: three jobs (1 s, 2 s, 3 s) on one channel, the first being
    // processed for 200 s. At 121 s its delivery is 120 s old: the channel
    // closes and all three go back, in order, redelivered.
    let st = story(
        &jobs(3, "200s", 3, json!({"consumer_timeout": "90s"}), json!({})),
        125 * S,
    );
    assert_eq!(timeouts(&st), vec![(121 * S, 3, 90 * S)]);
    let again: Vec<(u64, u64)> = st
        .deliveries("w")
        .iter()
        .filter(|d| d.3)
        .map(|d| (d.0, d.1))
        .collect();
    assert_eq!(again, vec![(121 * S, 1), (121 * S, 2), (121 * S, 3)]);
}

#[test]
fn jobs_that_ack_in_time_never_close_a_channel() {
    // 50 s jobs against a 60 s timeout: every delivery is acked before a
    // tick finds it older than 60 s, however the ticks fall.
    let st = story(
        &jobs(5, "50s", 1, json!({"consumer_timeout": "60s"}), json!({})),
        600 * S,
    );
    assert!(timeouts(&st).is_empty());
    assert_eq!(st.processed("w").len(), 5);
    assert_eq!(st.engine.totals().ack_timeouts, 0);
    // Without the timeout the run is the same, event for event.
    let plain = story(&jobs(5, "50s", 1, json!({}), json!({})), 600 * S);
    assert_eq!(st.engine.trace_hash(), plain.engine.trace_hash());
}

#[test]
fn a_quorum_queues_delivery_limit_ends_the_loop_of_a_job_that_always_times_out() {
    // delivery_limit 2: the first two closes requeue it, the third return is
    // past the limit and dead-letters it to the parking queue.
    let st = story(
        &jobs(
            1,
            "200s",
            1,
            json!({"consumer_timeout": "90s", "delivery_limit": 2,
                "dead_letter_exchange": "dlx"}),
            json!({
                "exchanges": [{"id": "dlx", "kind": "fanout", "bindings": [{"queue": "parked"}]}],
                "queues": [
                    {"id": "jobs", "consumer_timeout": "90s", "delivery_limit": 2,
                        "dead_letter_exchange": "dlx"},
                    {"id": "parked"}
                ]
            }),
        ),
        600 * S,
    );
    assert_eq!(
        timeouts(&st).iter().map(|t| t.0).collect::<Vec<_>>(),
        vec![121 * S, 241 * S, 361 * S]
    );
    let dl = st.dead_letters();
    assert_eq!(dl.len(), 1, "{dl:?}");
    assert_eq!(dl[0].0, 361 * S);
    assert_eq!(st.depth("parked"), 1);
    assert_eq!(st.deliveries("w").len(), 3);
}

#[test]
fn a_crash_starts_a_new_channel_whose_clock_starts_at_its_next_delivery() {
    // The worker crashes at 100 s (restarting at once): the job goes back and
    // is delivered again at 100 s on the new channel, whose first tick is at
    // 160 s (60 s old) and second at 220 s: closed there, not at 121 s.
    let st = story(
        &jobs(
            1,
            "500s",
            1,
            json!({"consumer_timeout": "90s"}),
            json!({"schedule": [{"at": "100s", "command":
                {"do": "crash_consumer", "consumer": "w", "restart_after": "0ms"}}]}),
        ),
        230 * S,
    );
    assert_eq!(timeouts(&st), vec![(220 * S, 1, 90 * S)]);
}

#[test]
fn consumer_timeout_is_validated_with_its_path() {
    let bad = |s: &str| scenario::load(s).unwrap_err().to_string();
    let e = bad(&jobs(
        1,
        "1s",
        1,
        json!({"consumer_timeout": "500us"}),
        json!({}),
    ));
    assert!(
        e.contains("queues[0].consumer_timeout: must be at least 1ms"),
        "{e}"
    );
    let e = bad(&jobs(
        1,
        "1s",
        1,
        json!({}),
        json!({"channel_tick_interval": "2h"}),
    ));
    assert!(
        e.contains("channel_tick_interval: must be between 1ms and 1h"),
        "{e}"
    );
    let sqs = json!({"title": "t", "queues": [{"id": "s", "sqs": {}, "consumer_timeout": "1m"}]});
    let e = bad(&sqs.to_string());
    assert!(
        e.contains("queues[0].consumer_timeout: does not apply to an SQS queue"),
        "{e}"
    );
}

#[test]
fn x_consumer_timeout_imports_the_lower_of_argument_and_policy_and_exports() {
    let defs = r##"{
  "policies": [
    { "vhost": "/", "name": "ct", "pattern": "^(a|b)$", "apply-to": "queues", "priority": 0,
      "definition": { "consumer-timeout": 30000 } }
  ],
  "queues": [
    { "vhost": "/", "name": "a", "durable": true, "arguments": { "x-consumer-timeout": 60000 } },
    { "vhost": "/", "name": "b", "durable": true, "arguments": { "x-consumer-timeout": 10000 } },
    { "vhost": "/", "name": "c", "durable": true, "arguments": { "x-consumer-timeout": "soon" } }
  ]
}"##;
    let imp = queuelab::definitions::import(defs, None).unwrap();
    let ct = |id: &str| {
        imp.scenario
            .queues
            .iter()
            .find(|q| q.id == id)
            .unwrap()
            .consumer_timeout
            .map(|d| d.us())
    };
    // rabbit_channel:get_queue_consumer_timeout: the lower of the two.
    assert_eq!(
        (ct("a"), ct("b"), ct("c")),
        (Some(30 * S), Some(10 * S), None)
    );
    assert!(
        imp.notes
            .iter()
            .any(|n| n.contains("x-consumer-timeout") && n.contains("\"soon\"")),
        "{:?}",
        imp.notes
    );
    let (out, notes) = queuelab::definitions::export(&imp.scenario);
    let args = &out["queues"][0]["arguments"];
    assert_eq!(args["x-consumer-timeout"], json!(30000), "{out}");
    assert!(
        notes.iter().all(|n| !n.contains("consumer timeout")),
        "{notes:?}"
    );
}

/// (t_us, effect) of every handler finishing after its channel closed.
fn late(st: &crate::common::Story) -> Vec<(u64, bool)> {
    st.matching(|k| matches!(k, TraceKind::FinishedAfterClose { .. }))
        .iter()
        .map(|e| match e.kind {
            TraceKind::FinishedAfterClose { effect, .. } => (e.t.0, effect),
            _ => unreachable!(),
        })
        .collect()
}

/// One 150 s job against a 90 s timeout, on one instance; at 130 s the
/// handler is made fast (10 s), so the redelivery finishes. `consumer`
/// merges over the worker, `schedule` adds commands.
fn slow_job(consumer: Value, schedule: Value) -> String {
    let mut w = json!({"id": "w", "queue": "jobs", "prefetch": 1,
        "service": {"constant": "150s"}});
    w.as_object_mut()
        .unwrap()
        .extend(consumer.as_object().unwrap().clone());
    let mut cmds = vec![json!({"at": "130s", "command":
        {"do": "set_service", "consumer": "w", "service": {"constant": "10s"}}})];
    cmds.extend(schedule.as_array().unwrap().iter().cloned());
    json!({
        "title": "slow job", "duration": "600s",
        "producers": [{"id": "p", "to": "jobs", "rate": "1/s", "arrival": "constant", "count": 1}],
        "queues": [{"id": "jobs", "consumer_timeout": "90s"}],
        "consumers": [w],
        "schedule": cmds
    })
    .to_string()
}

#[test]
fn the_handler_runs_on_after_the_close_and_its_effect_happens_twice() {
    // Closed at 121 s; the handler goes on with it until 151 s (its effect,
    // no channel for its ack). The redelivery (121 s, the new channel) waits
    // for that one handler thread, runs 151–161 s and is acked: two effects.
    let st = story(&slow_job(json!({}), json!([])), 300 * S);
    assert_eq!(timeouts(&st), vec![(121 * S, 1, 90 * S)]);
    assert_eq!(late(&st), vec![(151 * S, true)]);
    assert_eq!(st.processed("w"), vec![(161 * S, 1)]);
    let l = st.engine.ledger_report();
    assert_eq!((l.exactly_once, l.duplicated, l.extra_effects), (0, 1, 1));
}

#[test]
fn an_idempotent_consumer_does_the_late_effect_once() {
    // The orphan does the effect first (151 s) and remembers it; the
    // redelivery's run at 161 s is deduplicated.
    let st = story(
        &slow_job(json!({"dedup": {"window": "1h"}}), json!([])),
        300 * S,
    );
    assert_eq!(late(&st), vec![(151 * S, true)]);
    let l = st.engine.ledger_report();
    assert_eq!(
        (l.exactly_once, l.duplicated, l.deduplicated),
        (1, 0, 1),
        "{l:?}"
    );
}

#[test]
fn a_crash_kills_the_late_handler_before_its_effect() {
    // The instance crashes at 140 s (restarting at once): the orphaned
    // handler dies with it, the redelivery held on the new channel goes back
    // and runs again on the restarted instance (140–150 s): one effect.
    let st = story(
        &slow_job(
            json!({}),
            json!([{"at": "140s", "command":
                {"do": "crash_consumer", "consumer": "w", "restart_after": "0ms"}}]),
        ),
        300 * S,
    );
    assert!(late(&st).is_empty(), "{:?}", late(&st));
    assert_eq!(st.processed("w"), vec![(150 * S, 1)]);
    let l = st.engine.ledger_report();
    assert_eq!((l.exactly_once, l.duplicated), (1, 0));
}

#[test]
fn a_job_that_always_outlasts_the_timeout_is_done_again_and_again() {
    // No fix at 130 s: the redelivery waits for the late handler (151 s),
    // runs from 151 s and its own channel times out at 241 s (delivered at
    // 121 s, ticks at 181 s and 241 s), and so on: a late effect every
    // 150 s, the job never acked.
    let mut v: Value = serde_json::from_str(&slow_job(json!({}), json!([]))).unwrap();
    v["schedule"] = json!([]);
    let st = story(&v.to_string(), 460 * S);
    assert_eq!(
        timeouts(&st).iter().map(|t| t.0).collect::<Vec<_>>(),
        vec![121 * S, 241 * S, 361 * S]
    );
    assert_eq!(
        late(&st),
        vec![(151 * S, true), (301 * S, true), (451 * S, true)]
    );
    assert!(st.processed("w").is_empty());
}

#[test]
fn the_presets_variants_tell_what_the_description_says() {
    // consumer-timeout: with 10 s some long jobs are taken back and done
    // twice (and short jobs prefetched behind them come back too); 1 minute
    // repeats nothing; prefetch 1 takes back fewer.
    let lane = |name: &str| {
        let until_us = crate::common::preset_variant("consumer-timeout", name)
            .duration
            .us();
        let e = crate::common::run_variant("consumer-timeout", name, until_us);
        let l = e.ledger_report();
        (
            e.totals().redelivered,
            e.totals().ack_timeouts,
            l.duplicated,
            l.deduplicated,
            l.extra_effects,
        )
    };
    let short = lane("timeout-10s");
    let long = lane("timeout-1m");
    let one = lane("prefetch-1");
    assert!(short.1 > 0 && short.2 > 0, "{short:?}");
    assert!(
        short.0 > short.2,
        "prefetched jobs come back too: {short:?}"
    );
    assert_eq!((long.0, long.1, long.2), (0, 0, 0), "{long:?}");
    assert!(one.0 < short.0, "{one:?} vs {short:?}");
    assert_eq!(short.3, 0, "no dedup store: nothing skipped");
    assert!(short.4 >= short.2, "{short:?}");
}
