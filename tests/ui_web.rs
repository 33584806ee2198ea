//! Browser unit tests of the app's pieces (wasm-bindgen-test, headless Chromium):
//! URL parameters, knobs, the layout, the timeline model and a component.
//! (The lib's own unit tests do not build for wasm32, so these live here.)
//!
//!   CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
//!   CHROMEDRIVER=/usr/bin/chromedriver \
//!   cargo test --target wasm32-unknown-unknown --test ui_web
#![cfg(target_arch = "wasm32")]

use queuelab::engine::{Command, Totals, TraceKind};
use queuelab::scenario::{self, Service};
use queuelab::ui::knobs;
use queuelab::ui::layout::{text, EdgeKind, Layout, NORMAL, PRESENTER};
use queuelab::ui::params::Params;
use queuelab::ui::render::View;
use queuelab::ui::sim::Sim;
use queuelab::ui::views::{TotalsBar, TotalsProps};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn params_parse_the_embed_contract_and_ignore_junk() {
    let p = Params::from_query("?preset=mm1&seed=7&speed=10&autoplay=1&embed=1&theme=dark");
    assert_eq!(p.preset.as_deref(), Some("mm1"));
    assert_eq!(p.seed, Some(7));
    assert_eq!(p.speed, 10.0);
    assert!(p.autoplay && p.embed && p.dark);
    let q = Params::from_query("?preset=nope&seed=-1&speed=1e9&autoplay=0&x=%%%");
    assert_eq!(q.preset, None);
    assert_eq!(q.seed, None);
    assert_eq!(q.speed, 1000.0);
    assert!(!q.autoplay && !q.embed);
    assert_eq!(Params::from_query("?speed=NaN").speed, 1.0);
}

#[wasm_bindgen_test]
fn charts_start_folded_on_a_projector_unless_the_link_says_otherwise() {
    use queuelab::ui::params::charts_folded_at_start as folded;
    // 1024×640 and 1366×768 fold, 1280×800 does not; an unknown height (0)
    // never folds, nor does the drawer layout (800 px wide and less: closed
    // drawers).
    assert!(folded(None, false, 1024.0, 640.0));
    assert!(folded(None, false, 1366.0, 768.0));
    assert!(!folded(None, false, 1280.0, 800.0));
    assert!(!folded(None, false, 1920.0, 950.0));
    assert!(!folded(None, false, 1024.0, 0.0));
    assert!(!folded(None, false, 800.0, 600.0));
    // `charts=1` shows them on a projector, `charts=0` folds them anywhere.
    assert_eq!(Params::from_query("?charts=1").charts, Some(true));
    assert_eq!(Params::from_query("?charts=0").charts, Some(false));
    assert_eq!(Params::from_query("?preset=mm1").charts, None);
    // A lesson keeps its charts (its steps point at them).
    assert!(!folded(None, true, 1024.0, 640.0));
    // A bare flag is yes, as `?embed` is; junk is no answer: the viewport decides.
    assert_eq!(Params::from_query("?charts").charts, Some(true));
    assert_eq!(Params::from_query("?charts=maybe&side=%%").charts, None);
    assert_eq!(Params::from_query("?charts=maybe&side=%%").side, None);
    assert!(!folded(
        Params::from_query("?charts=1").charts,
        false,
        1024.0,
        640.0
    ));
    assert!(folded(
        Params::from_query("?charts=0").charts,
        false,
        1366.0,
        768.0
    ));
    // The side panel folds on a narrow projector only, never over a lesson.
    use queuelab::ui::params::side_folded_at_start as side;
    assert!(side(None, false, 1024.0, 640.0));
    assert!(!side(None, false, 1280.0, 640.0));
    assert!(side(None, false, 1024.0, 768.0));
    assert!(!side(None, false, 1366.0, 768.0));
    assert!(!side(None, false, 1024.0, 800.0));
    assert!(!side(None, true, 1024.0, 640.0));
    assert!(!side(None, false, 800.0, 600.0));
    assert!(!side(
        Params::from_query("?side=1").side,
        false,
        1024.0,
        640.0
    ));
    assert!(side(
        Params::from_query("?side=0").side,
        false,
        1366.0,
        768.0
    ));
}

#[wasm_bindgen_test]
fn params_open_a_lesson_step_and_ignore_unknown_lessons() {
    let p = Params::from_query("?step=3&lesson=why-queues-grow");
    assert_eq!(p.lesson, Some(("why-queues-grow".to_string(), 3)));
    assert_eq!(
        Params::from_query("?lesson=why-queues-grow&step=0").lesson,
        Some(("why-queues-grow".to_string(), 1))
    );
    assert_eq!(Params::from_query("?lesson=<script>&step=2").lesson, None);
    assert_eq!(
        Params::from_query("?lesson=batching&step=x").lesson,
        Some(("batching".to_string(), 1))
    );
}

#[wasm_bindgen_test]
fn the_arrival_knob_round_trips_its_choices() {
    for (value, _) in knobs::ARRIVAL_CHOICES {
        match knobs::set_arrival("p", value) {
            Some(Command::SetArrival { arrival, .. }) => {
                assert_eq!(knobs::arrival_value(&arrival), value)
            }
            other => panic!("{value}: {other:?}"),
        }
    }
    assert!(knobs::set_arrival("p", "bursts:lots").is_none());
    assert!(knobs::set_arrival("p", "sometimes").is_none());
}

#[wasm_bindgen_test]
fn knobs_build_commands_and_reject_non_numbers() {
    assert!(knobs::set_rate("p", "abc").is_none());
    assert!(knobs::set_rate("p", "-3").is_none());
    match knobs::set_rate("p", "12.5") {
        Some(Command::SetRate { rate, .. }) => assert_eq!(rate.0, 12.5),
        other => panic!("{other:?}"),
    }
    let s = Service::LogNormal {
        median: queuelab::scenario::Duration::from_ms(40),
        sigma: 0.4,
    };
    assert_eq!(knobs::service_ms(&knobs::service_with_ms(&s, 90.0)), 90.0);
    assert_eq!(knobs::opt_u32(""), Some(None));
    assert_eq!(knobs::opt_u32("5"), Some(Some(5)));
    assert_eq!(
        knobs::opt_ms("1.5"),
        Some(Some(queuelab::scenario::Duration(1500)))
    );
}

#[wasm_bindgen_test]
fn broker_knobs_parse_units_and_name_the_field_when_they_cannot() {
    use queuelab::scenario::Duration;
    use queuelab::ui::knobs_broker as kb;
    // A bare number takes the field's unit; a unit wins; off turns a timer off.
    assert_eq!(kb::duration_in("x", "2", "s"), Ok(Duration::from_s(2)));
    assert_eq!(
        kb::duration_in("x", "250ms", "s"),
        Ok(Duration::from_ms(250))
    );
    assert_eq!(kb::opt_duration_in("x", " off ", "s"), Ok(None));
    assert!(kb::duration_in("wait time", "soon", "s")
        .unwrap_err()
        .starts_with("wait time: "));
    assert!(kb::duration_in("wait time", "", "s")
        .unwrap_err()
        .starts_with("wait time: "));
    assert_eq!(kb::bytes_in("hard limit", "8mb"), Ok(8 << 20));
    assert_eq!(kb::bytes_in("hard limit", "1024"), Ok(1024));
    assert!(kb::bytes_in("soft limit", "lots")
        .unwrap_err()
        .starts_with("soft limit: "));
    assert!(kb::bytes_in("soft limit", "99999999999999999999gb").is_err());
    match kb::pulsar_ack_timeout("s", "off") {
        Ok(Command::SetPulsarAckTimeout { timeout: None, .. }) => {}
        other => panic!("{other:?}"),
    }
    match kb::pulsar_nack_delay("s", "0.5") {
        Ok(Command::SetPulsarNackDelay { delay, .. }) => assert_eq!(delay, Duration::from_ms(500)),
        other => panic!("{other:?}"),
    }
    assert!(kb::sqs_max_messages("w", "11")
        .unwrap_err()
        .starts_with("max messages: "));
    assert!(kb::sqs_max_messages("w", "0").is_err());
    assert!(matches!(
        kb::sqs_max_messages("w", "10"),
        Ok(Command::SetMaxMessages {
            max_messages: 10,
            ..
        })
    ));
    match kb::subscription("b", "orders.*", true) {
        Ok(Command::Subscribe {
            channel: None,
            pattern: Some(p),
            ..
        }) => assert_eq!(p, "orders.*"),
        other => panic!("{other:?}"),
    }
    match kb::subscription("b", "orders.eu", false) {
        Ok(Command::Unsubscribe {
            channel: Some(c),
            pattern: None,
            ..
        }) => assert_eq!(c, "orders.eu"),
        other => panic!("{other:?}"),
    }
    assert!(kb::subscription("b", " ", true).is_err());
    assert!(matches!(
        kb::set_maxlen("st", ""),
        Ok(Command::SetMaxlen { maxlen: None, .. })
    ));
    assert!(matches!(
        kb::set_maxlen("st", "50"),
        Ok(Command::SetMaxlen {
            maxlen: Some(50),
            ..
        })
    ));
    assert!(kb::set_maxlen("st", "-1")
        .unwrap_err()
        .starts_with("MAXLEN: "));
    match kb::output_buffer_limit("r", "1mb", "256kb", "10") {
        Ok(Command::SetOutputBufferLimit { limit, .. }) => {
            assert_eq!((limit.hard_bytes, limit.soft_bytes), (1 << 20, 256 << 10));
            assert_eq!(limit.soft_seconds, Duration::from_s(10));
        }
        other => panic!("{other:?}"),
    }
}

fn sim(name: &str) -> Sim {
    let p = scenario::preset(name).expect("preset");
    let sc = p.scenario();
    let seed = sc.seed;
    Sim::new(sc, seed).expect("valid")
}

#[wasm_bindgen_test]
fn layout_separates_the_dead_letter_path_and_does_not_overlap() {
    for p in scenario::presets() {
        let s = sim(p.name);
        let l = Layout::compute(&s.engine, &s.scenario.layout, usize::MAX / 4);
        for (i, a) in l.nodes.iter().enumerate() {
            for b in l.nodes.iter().skip(i + 1) {
                let apart = (a.x - b.x).abs() >= (a.w + b.w) / 2.0 - 1.0
                    || (a.y - b.y).abs() >= (a.h + b.h) / 2.0 - 1.0;
                assert!(apart, "{}: {} overlaps {}", p.name, a.id, b.id);
            }
        }
    }
    let s = sim("retry-queue");
    let l = Layout::compute(&s.engine, &s.scenario.layout, usize::MAX / 4);
    let band = |id: &str| l.nodes.iter().find(|n| n.id == id).unwrap().band;
    assert_eq!(band("work-q"), 0);
    assert_eq!(
        band("wait-1s"),
        1,
        "the wait queue is on the dead-letter path"
    );
    assert!(l.edges.iter().any(|e| e.kind == EdgeKind::DeadLetter));
}

/// Every preset, in both styles, unwrapped and wrapped: no drawn box
/// (node, label, band caption) overlaps another.
#[wasm_bindgen_test]
fn no_box_overlaps_another_on_any_preset_in_either_style() {
    for p in scenario::presets() {
        let s = sim(p.name);
        for style in [&NORMAL, &PRESENTER] {
            for wrap in [usize::MAX / 4, 3, 2] {
                let l = Layout::compute_styled(&s.engine, &s.scenario.layout, wrap, style);
                let bad = l.overlaps();
                assert!(bad.is_empty(), "{} (wrap {wrap}): {bad:?}", p.name);
                assert_eq!(
                    l.boxes().len(),
                    l.nodes.len() + l.labels.len() + usize::from(l.band_label.is_some())
                );
            }
        }
    }
}

#[wasm_bindgen_test]
fn parallel_bindings_share_one_edge_with_one_key_per_line() {
    let s = sim("topic-routing");
    let l = Layout::compute(&s.engine, &s.scenario.layout, usize::MAX / 4);
    let id = |name: &str| l.nodes.iter().position(|n| n.id == name).unwrap();
    let to_alerts: Vec<_> = l
        .edges
        .iter()
        .filter(|e| e.from == id("logs") && e.to == id("alerts"))
        .collect();
    assert_eq!(to_alerts.len(), 1, "one edge logs → alerts");
    assert_eq!(to_alerts[0].label, vec!["\"*.critical\"", "\"kern.*\""]);
    // Every labelled edge got a placed label, and the exchange's column gap
    // is wide enough for the widest of them.
    let labelled = l.edges.iter().filter(|e| !e.label.is_empty()).count();
    assert_eq!(l.labels.len(), labelled);
    let widest = l.labels.iter().map(|b| b.rect.w()).fold(0.0, f64::max);
    let gap = l.nodes[id("alerts")].rect().x0 - l.nodes[id("logs")].rect().x1;
    assert!(gap > widest, "gap {gap} holds labels up to {widest}");
}

#[wasm_bindgen_test]
fn the_fitted_view_keeps_every_box_inside_the_canvas() {
    for p in scenario::presets() {
        let s = sim(p.name);
        for (w, h) in [
            (1006.0, 380.0),
            (739.0, 316.0),
            (1024.0, 480.0),
            (500.0, 900.0),
        ] {
            let l = Layout::compute(&s.engine, &s.scenario.layout, usize::MAX / 4);
            let v = View::fit(&l, w, h, 1.4);
            for b in l.boxes() {
                let r = v.rect(&b.rect);
                assert!(
                    r.x0 >= -0.01 && r.y0 >= -0.01 && r.x1 <= w + 0.01 && r.y1 <= h + 0.01,
                    "{} at {w}×{h}: {} {:?}",
                    p.name,
                    b.id,
                    r
                );
            }
        }
    }
}

#[wasm_bindgen_test]
fn node_boxes_hold_their_names_and_detail_lines_lose_facts_not_letters() {
    for p in scenario::presets() {
        let s = sim(p.name);
        for style in [&NORMAL, &PRESENTER] {
            let l = Layout::compute_styled(&s.engine, &s.scenario.layout, usize::MAX / 4, style);
            for n in &l.nodes {
                let need = text::text_w(&n.id, style.title_px, true) + 2.0 * style.pad;
                assert!(
                    n.w >= need,
                    "{}: {} is {} wide, needs {need}",
                    p.name,
                    n.id,
                    n.w
                );
            }
        }
    }
    let line = text::fit_parts(
        &[("done 12", 0), ("failed 3", 1), ("9 held", 2)],
        1000.0,
        12.0,
        false,
    );
    assert_eq!(line, "done 12 · failed 3 · 9 held");
    let w = text::text_w("done 12 · failed 3", 12.0, false);
    let line = text::fit_parts(
        &[("done 12", 0), ("failed 3", 1), ("9 held", 2)],
        w + 0.5,
        12.0,
        false,
    );
    assert_eq!(
        line, "done 12 · failed 3",
        "the lowest-priority fact goes first"
    );
    let line = text::fit_parts(&[("done 12", 0), ("failed 3", 1)], 1.0, 12.0, false);
    assert_eq!(line, "done 12", "the first fact stays");
    assert!(text::text_w("WWW", 10.0, true) > text::text_w("iii", 10.0, true) * 2.0);
}

#[wasm_bindgen_test]
fn seek_back_gives_the_state_that_play_gave() {
    let mut s = sim("retry-backoff");
    let never = || false;
    for _ in 0..120 {
        s.advance(50_000, &never);
    }
    s.settle();
    let t = s.now_us();
    let at_t = s.engine.snapshot();
    s.submit(Command::SetFailureRate {
        consumer: "payment-svc".into(),
        failure_rate: 0.9,
    })
    .expect("knob");
    for _ in 0..60 {
        s.advance(50_000, &never);
    }
    let later = s.engine.snapshot();
    assert!(later.totals.published > at_t.totals.published);
    s.seek(t);
    let again = s.engine.snapshot();
    assert_eq!(again.totals, at_t.totals, "same counters at T");
    assert_eq!(again.nodes, at_t.nodes, "same nodes at T");
    s.seek(later.t_us);
    assert_eq!(
        s.engine.snapshot(),
        later,
        "forward again replays the command"
    );
    s.seek(0);
    assert_eq!(s.engine.snapshot().totals.published, 0);
}

#[wasm_bindgen_test]
async fn totals_bar_renders_the_counters() {
    let doc = web_sys::window().unwrap().document().unwrap();
    let root = doc.create_element("div").unwrap();
    doc.body().unwrap().append_child(&root).unwrap();
    let totals = Totals {
        published: 42,
        copies: 7,
        dead_lettered: 3,
        in_flight: 5,
        ..Default::default()
    };
    let props = TotalsProps {
        totals,
        parked: Some(2),
        brief: false,
        lag: None,
        logs_only: false,
        alerts: Vec::new(),
    };
    yew::Renderer::<TotalsBar>::with_root_and_props(root.clone(), props).render();
    yew::platform::time::sleep(std::time::Duration::from_millis(20)).await;
    let text = root.text_content().unwrap_or_default();
    assert!(text.contains("42published"), "{text}");
    assert!(text.contains("7copies"), "{text}");
    assert!(text.contains("3dead-lettered"), "{text}");
    // Parked dead letters are counted apart, not as in flight.
    assert!(text.contains("2parked in DLQ"), "{text}");
    assert!(text.contains("3in flight"), "{text}");
    assert!(text.contains("0expired"), "{text}");
    // Presenter mode leaves out the counters still at zero, not the main three.
    let brief = doc.create_element("div").unwrap();
    doc.body().unwrap().append_child(&brief).unwrap();
    let totals = Totals {
        published: 42,
        ..Default::default()
    };
    let props = TotalsProps {
        totals,
        parked: None,
        brief: true,
        lag: None,
        logs_only: false,
        alerts: Vec::new(),
    };
    yew::Renderer::<TotalsBar>::with_root_and_props(brief.clone(), props).render();
    yew::platform::time::sleep(std::time::Duration::from_millis(20)).await;
    let text = brief.text_content().unwrap_or_default();
    assert_eq!(text, "42published0processed0in flight");
    // Topics only: group lag instead of in flight; alert rules at the end,
    // as the engine reports them at 15 s of error-rate-alert.
    let logs = doc.create_element("div").unwrap();
    doc.body().unwrap().append_child(&logs).unwrap();
    let mut e =
        queuelab::engine::Engine::new(scenario::preset("error-rate-alert").unwrap().scenario(), 1)
            .unwrap();
    e.run_until(queuelab::engine::SimTime(15_000_000), u64::MAX);
    let alerts = e.alerts();
    assert_eq!(alerts[0].state, "firing");
    let props = TotalsProps {
        totals: Totals::default(),
        parked: None,
        brief: false,
        lag: Some(250),
        logs_only: true,
        alerts,
    };
    yew::Renderer::<TotalsBar>::with_root_and_props(logs.clone(), props).render();
    yew::platform::time::sleep(std::time::Duration::from_millis(20)).await;
    let text = logs.text_content().unwrap_or_default();
    assert!(
        text.contains("250group lag") && !text.contains("in flight"),
        "{text}"
    );
    assert!(text.contains("payment-errorsFIRING · "), "{text}");
    let pill = doc.get_element_by_id("alert-payment-errors").unwrap();
    assert_eq!(pill.get_attribute("data-state").as_deref(), Some("firing"));
    assert!(pill
        .get_attribute("title")
        .unwrap()
        .contains("error rate > 5% over 10s for 2s"));
}

#[wasm_bindgen_test]
fn step_by_hop_moves_the_selected_message_to_its_next_hop() {
    let mut s = sim("topic-routing");
    let mut id = None;
    let mut kinds = Vec::new();
    for _ in 0..10_000 {
        let evs = s.step();
        if let Some(e) = evs
            .iter()
            .find(|e| matches!(e.kind, TraceKind::Published { .. }))
        {
            id = e.msg;
            kinds.extend(evs.iter().filter(|e| e.msg == id).map(|e| e.kind.name()));
            break;
        }
    }
    let id = id.expect("a publish");
    let mut steps = 0;
    while !kinds.contains(&"acked") && steps < 20 {
        let evs = s.step_message(id, 200_000);
        steps += 1;
        let last = evs.last().expect("the message has a next hop");
        // Each step ends on the engine event that moved the followed message.
        assert_eq!(last.msg, Some(id), "each step ends on a hop of the message");
        assert!(
            evs.iter()
                .filter(|e| e.seq < last.seq)
                .all(|e| e.msg != Some(id) || e.t == last.t),
            "no earlier hop of the message was skipped"
        );
        kinds.extend(
            evs.iter()
                .filter(|e| e.msg == Some(id))
                .map(|e| e.kind.name()),
        );
    }
    assert!(steps >= 1, "{kinds:?}");
    let pos = |k: &str| {
        kinds
            .iter()
            .position(|x| *x == k)
            .unwrap_or_else(|| panic!("{k} in {kinds:?}"))
    };
    assert!(pos("published") < pos("enqueued"), "{kinds:?}");
    assert!(pos("enqueued") < pos("delivered"), "{kinds:?}");
    assert!(pos("delivered") < pos("acked"), "{kinds:?}");
}

// ── share links and the embed API (issue 7 §6) ──

#[wasm_bindgen_test]
fn a_links_view_state_round_trips_and_ignores_junk() {
    use queuelab::ui::share::ViewState;
    let v = ViewState {
        selected: Some("odd&id=1%".into()),
        end_us: Some(120_000_000),
        speed: Some(5.0),
    };
    assert_eq!(ViewState::parse(&v.to_text()), v);
    let junk = ViewState::parse("sel=&end=-3&speed=NaN&x=<script>&&=");
    assert_eq!(junk, ViewState::default());
    assert_eq!(ViewState::parse("speed=1e9").speed, Some(1000.0));
}

#[wasm_bindgen_test]
fn embed_messages_parse_or_say_why() {
    use queuelab::ui::embed::{parse, Inbound};
    use serde_json::json;
    assert_eq!(parse(&json!({"queuelab": "play"})), Some(Ok(Inbound::Play)));
    assert_eq!(
        parse(&json!({"queuelab": "seek", "t_s": 1.5})),
        Some(Ok(Inbound::Seek(1_500_000)))
    );
    assert_eq!(
        parse(&json!({"queuelab": "load", "preset": "mm1", "seed": 3})),
        Some(Ok(Inbound::LoadPreset("mm1".into(), Some(3))))
    );
    assert!(matches!(
        parse(&json!({"queuelab": "apply", "command": {"do": "pause_producer", "producer": "p"}})),
        Some(Ok(Inbound::Apply(Command::PauseProducer { .. })))
    ));
    // Not ours: ignored. Ours but wrong: an error that names the problem.
    assert_eq!(parse(&json!({"type": "resize"})), None);
    assert_eq!(parse(&json!("play")), None);
    let e = parse(&json!({"queuelab": "seek"})).unwrap().unwrap_err();
    assert!(e.contains("t_us"), "{e}");
    let e = parse(&json!({"queuelab": "fly"})).unwrap().unwrap_err();
    assert!(e.contains("unknown command"), "{e}");
    let e = parse(&json!({"queuelab": "play", "evil": 1}))
        .unwrap()
        .unwrap_err();
    assert!(e.contains("evil"), "{e}");
    let e = parse(&json!({"queuelab": "speed", "speed": -1}))
        .unwrap()
        .unwrap_err();
    assert!(e.contains("> 0"), "{e}");
}

#[wasm_bindgen_test]
fn a_link_replays_to_the_authors_state_and_a_hostile_log_is_refused_at_once() {
    use queuelab::engine::{Engine, LoggedCommand, SimTime};
    let sc = scenario::preset("work-queue").unwrap().scenario();
    // The author: 2 s, scale to one worker, on to 5 s.
    let mut author = Sim::new(sc.clone(), 4).unwrap();
    author.seek(0);
    while author.now_us() < 2_000_000 {
        author.advance(50_000, &|| false);
    }
    author
        .submit(Command::SetInstances {
            consumer: "workers".into(),
            instances: 1,
        })
        .unwrap();
    while author.now_us() < 5_000_000 {
        author.advance(50_000, &|| false);
    }
    let log = author.script().to_vec();
    let opened = Sim::from_link(sc.clone(), 4, &log, author.now_us(), 60_000_000).unwrap();
    assert_eq!(opened.engine.trace_hash(), author.engine.trace_hash());
    assert_eq!(opened.engine.events(), author.engine.events());
    let native = Engine::replay(sc.clone(), 4, &log, SimTime(author.now_us())).unwrap();
    assert_eq!(opened.engine.trace_hash(), native.trace_hash());
    // Opened at an earlier time, the command is still in the script (the future).
    let early = Sim::from_link(sc.clone(), 4, &log, 1_000_000, 60_000_000).unwrap();
    assert_eq!(early.now_us(), 1_000_000);
    assert_eq!(early.script().len(), 1);
    // A count no run reaches by that time: refused, without stepping 10^18 events.
    let hostile = [LoggedCommand {
        at_us: 1_000_000,
        after_events: u64::MAX / 2,
        command: Command::PauseProducer {
            producer: "tasks".into(),
        },
    }];
    let e = Sim::from_link(sc.clone(), 4, &hostile, 0, 60_000_000)
        .err()
        .unwrap();
    assert!(e.contains("command 0 was applied after"), "{e}");
    // A time no budget reaches: refused with the limit named.
    let e = Sim::from_link(sc, 4, &[], u64::MAX / 4, 60_000_000)
        .err()
        .unwrap();
    assert!(e.contains("more than"), "{e}");
}

#[wasm_bindgen_test]
fn a_run_stops_at_its_end_and_extends() {
    let sc = scenario::preset("crash-recovery").unwrap().scenario();
    let mut sim = Sim::new(sc, 1).unwrap();
    assert_eq!(sim.end_us, 30_000_000);
    for _ in 0..1000 {
        sim.advance(1_000_000, &|| false);
    }
    assert_eq!(sim.now_us(), 30_000_000);
    assert!(sim.finished());
    let events = sim.engine.events();
    sim.step();
    assert_eq!(sim.engine.events(), events, "a finished run does not step");
    sim.extend(30_000_000);
    assert!(!sim.finished());
    sim.advance(5_000_000, &|| false);
    assert_eq!(sim.now_us(), 35_000_000);
}

#[wasm_bindgen_test]
fn a_topic_is_sized_for_its_strips_and_its_groups_sit_to_its_right() {
    use queuelab::ui::layout::streams::{MemberGeom, StripGeom, STRIPS_MAX};
    let s = sim("kafka-three-groups");
    let l = Layout::compute(&s.engine, &s.scenario.layout, usize::MAX / 4);
    let node = |id: &str| l.nodes.iter().find(|n| n.id == id).unwrap().clone();
    let t = node("order-events");
    let g = StripGeom::new(&NORMAL, 12, 3, false);
    assert_eq!((g.strips, g.lanes, g.more), (12, 3, false));
    let (w, h) = g.size(&NORMAL);
    assert_eq!((t.w, t.h), (w, h), "the box is what the strips need");
    assert!(t.h >= g.top + 12.0 * g.pitch);
    for id in ["billing", "analytics", "fraud"] {
        let b = node(id);
        assert!(b.x - b.w / 2.0 > t.x + t.w / 2.0, "{id} right of the topic");
        // Sized for its members now or after the scheduled join (analytics: 3 + 1).
        let rows =
            ((b.h - MemberGeom::new(&NORMAL, 1).top) / MemberGeom::new(&NORMAL, 1).row_h) as usize;
        assert!(rows >= 4, "{id}: {rows} member rows");
    }
    // Past STRIPS_MAX partitions a "+N more" row replaces the rest.
    let big = StripGeom::new(&NORMAL, 100, 1, false);
    assert_eq!((big.strips, big.more), (STRIPS_MAX, true));
    // A replicated topic's offsets column also holds "· ISR 2/3".
    let repl = StripGeom::new(&NORMAL, 12, 3, true);
    assert!(repl.end_w > g.end_w + 20.0, "{} vs {}", repl.end_w, g.end_w);
}

#[wasm_bindgen_test]
fn key_colours_are_stable_and_spread() {
    use queuelab::ui::render::streams::{key_slot, KEY_COLORS};
    assert_eq!(key_slot("user-42"), key_slot("user-42"));
    let slots: std::collections::BTreeSet<usize> =
        (0..200).map(|i| key_slot(&format!("key-{i}"))).collect();
    assert_eq!(slots.len(), KEY_COLORS.len(), "200 keys use every colour");
}

#[wasm_bindgen_test]
fn the_stream_knobs_round_trip_their_choices() {
    use queuelab::scenario::{Duration, SeekTo};
    use queuelab::ui::knobs_stream::{commit_of, commit_value, seek_of, COMMIT_CHOICES};
    for (v, _) in COMMIT_CHOICES {
        assert_eq!(commit_value(&commit_of(v).unwrap()), v);
    }
    assert_eq!(commit_of("auto:x"), None);
    let to = |how: &str, v: &str| match seek_of("g", how, v) {
        Some(Command::SeekGroup { to, .. }) => Some(to),
        _ => None,
    };
    assert_eq!(to("beginning", ""), Some(SeekTo::Beginning));
    assert_eq!(to("end", "9"), Some(SeekTo::End));
    assert_eq!(to("offset", "12"), Some(SeekTo::Offset(12)));
    assert_eq!(
        to("time", "1500"),
        Some(SeekTo::Timestamp(Duration(1_500_000)))
    );
    assert_eq!(to("offset", "x"), None);
    assert_eq!(to("time", "-1"), None);
}

#[wasm_bindgen_test]
fn guarantee_knobs_change_one_field_and_keep_the_others() {
    let sc = scenario::preset("guarantee-matrix").unwrap().scenario();
    let charge = sc.consumers.iter().find(|c| c.id == "charge").unwrap();
    let Some(Command::SetConsumerFaults {
        faults: Some(f), ..
    }) = knobs::consumer_fault(charge, knobs::ConsumerFault::AckDrop, "10")
    else {
        panic!("a consumer-faults command");
    };
    assert_eq!(f.ack_drop, 0.1);
    assert_eq!(
        f.crash_after_effect, 0.02,
        "the other probabilities are kept"
    );
    assert_eq!(f.restart_after, scenario::Duration::from_ms(500));
    assert!(knobs::consumer_fault(charge, knobs::ConsumerFault::AckDrop, "150").is_none());
    assert!(matches!(
        knobs::dedup_window("charge", " "),
        Some(Command::SetDedup { dedup: None, .. })
    ));
    let Some(Command::SetDedup { dedup: Some(d), .. }) = knobs::dedup_window("charge", "2.5")
    else {
        panic!("a dedup command");
    };
    assert_eq!(d.window, scenario::Duration::from_ms(2500));
    let checkout = sc.producers.iter().find(|p| p.id == "checkout").unwrap();
    let Some(Command::SetLinkFaults {
        faults: Some(l), ..
    }) = knobs::link_fault(
        "checkout",
        checkout.faults,
        knobs::LinkFault::Duplicate,
        "3",
    )
    else {
        panic!("a link-faults command");
    };
    assert_eq!((l.drop, l.duplicate, l.confirm_drop), (0.02, 0.03, 0.05));
}

#[wasm_bindgen_test]
fn lanes_run_frame_by_frame_or_by_seek_to_the_same_state_with_the_users_commands() {
    use queuelab::engine::Engine;
    use queuelab::scenario::CrashPoint;
    use queuelab::ui::lanes::Lanes;
    let sc = scenario::preset("guarantee-matrix").unwrap().scenario();
    // The main timeline: a crash armed at 1 s, then on to 6 s.
    let mut main = Sim::new(sc.clone(), 7).unwrap();
    while main.now_us() < 1_000_000 {
        main.advance(100_000, &|| false);
    }
    main.submit(Command::CrashConsumer {
        consumer: "charge".into(),
        instance: None,
        restart_after: Some(scenario::Duration::from_ms(500)),
        point: CrashPoint::AfterEffect,
    })
    .unwrap();
    let mut framed = Lanes::new(&sc, 7).unwrap();
    assert_eq!(framed.lanes.len(), 3);
    // Frame by frame with small budgets, as the app does.
    let mut t = 0;
    while t < 6_000_000 {
        t += 16_000;
        for k in 0..3 {
            while !framed.advance_lane(k, t, main.script(), 500, &|| false) {}
        }
    }
    let mut seeked = Lanes::new(&sc, 7).unwrap();
    seeked.seek(6_000_000, main.script());
    for k in 0..3 {
        let (a, b) = (&framed.lanes[k], &seeked.lanes[k]);
        assert_eq!(a.engine.now().0, 6_000_000);
        assert_eq!(a.applied(), 1, "lane {k} applied the crash");
        assert_eq!(
            a.engine.trace_hash(),
            b.engine.trace_hash(),
            "lane {k}: frames = seek"
        );
        assert_eq!(a.engine.ledger_report(), b.engine.ledger_report());
    }
    // A lane is the variant's own engine: without the command, it differs
    // from the lane only by that command.
    let mut base = sc.clone();
    base.variants.clear();
    let v = scenario::patch::apply(&base, &sc.variants[1].set).unwrap();
    let mut plain = Engine::new(v, 7).unwrap();
    plain.run_until(queuelab::engine::SimTime(6_000_000), u64::MAX);
    assert_eq!(plain.ledger_report().guarantee, "at_least_once");
    assert_ne!(plain.trace_hash(), framed.lanes[1].engine.trace_hash());
    // The at-most-once lane never does an effect twice, the exactly-once lane never loses one.
    let most = framed.lanes[0].engine.ledger_report();
    let exactly = framed.lanes[2].engine.ledger_report();
    assert_eq!(most.duplicated, 0);
    assert_eq!((exactly.lost, exactly.duplicated), (0, 0));
}

/// The circuit-breaker knobs: blank removes it, a number sets the threshold
/// (a new breaker gets 5 s open and 1 probe), the open time is in ms and
/// keeps the threshold; text that is not a number sends nothing.
#[wasm_bindgen_test]
fn breaker_knobs_make_set_circuit_breaker_commands() {
    let sc = scenario::preset("circuit-breaker").unwrap().scenario();
    let plain = sc.consumers.iter().find(|c| c.id == "plain-svc").unwrap();
    let guarded = sc.consumers.iter().find(|c| c.id == "guarded-svc").unwrap();
    let Some(Command::SetCircuitBreaker {
        circuit_breaker: Some(b),
        ..
    }) = knobs::breaker_with(plain, Some("3"), None)
    else {
        panic!("a breaker command");
    };
    assert_eq!(
        (b.failures, b.open_for, b.probes),
        (3, scenario::Duration::from_s(5), 1)
    );
    let Some(Command::SetCircuitBreaker {
        circuit_breaker: Some(b),
        ..
    }) = knobs::breaker_with(guarded, None, Some("250"))
    else {
        panic!("a breaker command");
    };
    assert_eq!(
        (b.failures, b.open_for),
        (5, scenario::Duration::from_ms(250))
    );
    assert!(matches!(
        knobs::breaker_with(guarded, Some(" "), None),
        Some(Command::SetCircuitBreaker {
            circuit_breaker: None,
            ..
        })
    ));
    assert!(knobs::breaker_with(guarded, Some("many"), None).is_none());
    assert!(knobs::breaker_with(guarded, None, Some("-1")).is_none());
}

/// The event log keeps the newest `LOG_MAX` trace events, in order, with no
/// gap and no repeat, however many one frame brings (fanout-large at speed
/// brings tens of thousands per frame).
#[wasm_bindgen_test]
fn the_event_log_keeps_the_newest_entries_in_order() {
    let mut s = sim("fanout-large");
    // Three frames at the cap (60,000 events each) bring ~850,000 entries.
    for _ in 0..3 {
        s.advance(2_000_000, &|| false);
    }
    let log: Vec<u64> = s.log.iter().map(|e| e.seq).collect();
    assert_eq!(log.len(), queuelab::ui::sim::LOG_MAX, "the log is full");
    assert!(log.windows(2).all(|w| w[1] == w[0] + 1), "consecutive");
    assert_eq!(
        *log.last().unwrap() + 1,
        s.engine.trace_len(),
        "ends at the newest"
    );
}

/// Presenter mode folds fanout-large's 16 subscriber chains into columns: on
/// a 1024×640 projector's canvas (1024×516) the names read at 24 px or more
/// (18 px unfolded), no box overlaps another, every queue sits right above
/// its consumer; pictures without such a tail do not fold (the browser
/// layout test checks every preset's names and overlaps in presenter mode).
#[wasm_bindgen_test]
fn presenter_folds_the_big_fan_out_into_columns() {
    let s = sim("fanout-large");
    let plain = Layout::compute_styled(&s.engine, &s.scenario.layout, usize::MAX / 4, &PRESENTER);
    let px = |l: &Layout| View::fit(l, 1024.0, 516.0, 1.5).scale * PRESENTER.title_px;
    assert!(px(&plain) < 24.0, "unfolded: {}", px(&plain));
    let folded = plain.fold_parallel_tail(3).expect("a parallel tail");
    assert!(folded.folded);
    assert!(px(&folded) >= 24.0, "folded: {}", px(&folded));
    assert_eq!(folded.overlaps(), Vec::<(String, String)>::new());
    for e in &folded.edges {
        let (a, b) = (&folded.nodes[e.from], &folded.nodes[e.to]);
        if a.id.starts_with("sub-") {
            assert_eq!(a.x, b.x, "{} above {}", a.id, b.id);
            assert!(a.y < b.y);
        }
    }
    for name in [
        "pubsub-fanout",
        "kafka-three-groups",
        "scatter-gather",
        "message-versioning",
    ] {
        let s = sim(name);
        let l = Layout::compute_styled(&s.engine, &s.scenario.layout, usize::MAX / 4, &PRESENTER);
        assert!(l.fold_parallel_tail(3).is_none(), "{name} folded");
    }
}

/// The engine's share of a frame grows while the engine wants more and
/// frames come on time, up to 60% of the display period, shrinks on a late
/// frame, never goes below its floor, and follows a 120 Hz display.
#[wasm_bindgen_test]
fn the_frame_budget_grows_on_time_and_shrinks_on_late_frames() {
    use queuelab::ui::frame_budget::{FrameBudget, MIN_MS, SHARE_MAX, START_MS};
    const P60: f64 = 1000.0 / 60.0;
    let mut b = FrameBudget::default();
    assert_eq!(b.engine_ms(), START_MS);
    // Not throttled: no growth.
    for _ in 0..100 {
        b.observe(P60, false);
    }
    assert_eq!(b.engine_ms(), START_MS);
    // Throttled, on time: grows to 60% of the 60 Hz period and stays there.
    for _ in 0..200 {
        b.observe(P60, true);
    }
    let max = SHARE_MAX * P60;
    assert!((b.engine_ms() - max).abs() < 1e-9, "{}", b.engine_ms());
    // A late frame (a missed vsync) cuts it; a long stall keeps it at the
    // floor, and the stretched intervals do not make it think the display
    // slower (the period only ever falls).
    b.observe(33.4, true);
    assert!(b.engine_ms() < max * 0.81);
    for _ in 0..300 {
        b.observe(50.0, true);
    }
    assert_eq!(b.engine_ms(), MIN_MS);
    assert!((b.period_ms() - P60).abs() < 1e-9, "{}", b.period_ms());
    // Junk intervals change nothing.
    b.observe(f64::NAN, true);
    b.observe(-3.0, true);
    assert_eq!(b.engine_ms(), MIN_MS);
    // A 120 Hz display: the period estimate follows the shortest interval
    // of a window, and the share is capped at 60% of 8.3 ms.
    let mut b = FrameBudget::default();
    for _ in 0..400 {
        b.observe(8.3, true);
    }
    assert!((b.period_ms() - 8.3).abs() < 1e-9);
    assert!(b.engine_ms() <= SHARE_MAX * 8.3 + 1e-9, "{}", b.engine_ms());
    // A few stray short intervals on a 60 Hz display are not a faster display.
    let mut b = FrameBudget::default();
    for k in 0..600 {
        b.observe(if k % 20 == 0 { 2.0 } else { P60 }, true);
    }
    assert!((b.period_ms() - P60).abs() < 1e-9, "{}", b.period_ms());
}
