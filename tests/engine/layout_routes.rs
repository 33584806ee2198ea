//! The picture's edges stay clear of the boxes they do not connect: on every
//! preset, unwrapped and wrapped into segments of three and of two columns
//! (a projector, or a narrow canvas beside the inspector), in both styles.
//! The layout is the app's own (`queuelab::layout`, also built natively).

use queuelab::engine::Engine;
use queuelab::layout::{bezier, Layout, Route, NORMAL, PRESENTER};
use queuelab::scenario::{preset, presets};

#[test]
fn no_edge_passes_through_a_box_it_does_not_connect() {
    let mut bad = Vec::new();
    for p in presets() {
        let s = p.scenario();
        let saved = s.layout.clone();
        let engine = Engine::new(s, 1).expect("preset builds");
        for (style, sname) in [(&NORMAL, "normal"), (&PRESENTER, "presenter")] {
            for wrap in [usize::MAX / 4, 3, 2] {
                let l = Layout::compute_styled(&engine, &saved, wrap, style);
                // Labels are placed along the routes: still clear of every box.
                for (x, y) in l.overlaps() {
                    bad.push(format!(
                        "{} ({sname}, wrap {wrap}): {x} overlaps {y}",
                        p.name
                    ));
                }
                for (ei, node) in l.edge_crossings() {
                    let e = &l.edges[ei];
                    bad.push(format!(
                        "{} ({sname}, wrap {wrap}): {} -> {} passes through {node}",
                        p.name, l.nodes[e.from].id, l.nodes[e.to].id
                    ));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} crossings:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// The wrapped single-active-consumer picture of the bug report: two
/// columns a segment, the exchange's edge to the second queue of the next
/// segment went straight through the first queue; now it goes around, and
/// it still starts at the exchange and ends at that queue's left side.
#[test]
fn a_wrapped_edge_goes_around_the_queue_above_its_target() {
    let p = preset("single-active-consumer").expect("preset");
    let s = p.scenario();
    let saved = s.layout.clone();
    let engine = Engine::new(s, 1).expect("preset builds");
    let l = Layout::compute_styled(&engine, &saved, 2, &NORMAL);
    let idx = |id: &str| l.nodes.iter().position(|n| n.id == id).expect(id);
    let (x, q) = (idx("order-events"), idx("ledger-q"));
    let r = l.route(x, q, l.edge_kind(x, q));
    assert!(r.pieces().len() > 1, "a detour, not one curve: {r:?}");
    let (start, end) = (bezier(&r, 0.0), bezier(&r, 1.0));
    let (nx, nq) = (l.nodes[x].rect(), l.nodes[q].rect());
    assert!(
        (start.1 - nx.y1).abs() < 1e-9 || (start.0 - nx.x1).abs() < 1e-9,
        "leaves the exchange's bottom or right side: {start:?}"
    );
    assert!(
        (end.0 - nq.x0).abs() < 1e-9 && (end.1 - l.nodes[q].y).abs() < 1e-9,
        "enters the queue's left side: {end:?}"
    );
    assert!(l.edge_crossings().is_empty(), "{:?}", l.edge_crossings());
}

/// A route's pieces join end to end and its parameter runs from the first
/// point to the last, at an even pace over straight runs.
#[test]
fn an_orthogonal_route_is_continuous_and_evenly_paced() {
    let r = Route::orthogonal(
        &[
            (0.0, 0.0),
            (0.0, 100.0),
            (-200.0, 100.0),
            (-200.0, 300.0),
            (-150.0, 300.0),
        ],
        12.0,
    );
    assert_eq!(r.pieces().len(), 7, "four runs and three corners");
    for w in r.pieces().windows(2) {
        assert_eq!(w[0][3], w[1][0], "pieces join");
    }
    assert_eq!(bezier(&r, 0.0), (0.0, 0.0));
    assert_eq!(bezier(&r, 1.0), (-150.0, 300.0));
    // Half the length (550 of about 550) is in the middle of the second run.
    let (x, y) = bezier(&r, 0.5);
    assert!(
        (y - 100.0).abs() < 1e-9 && x < -50.0 && x > -200.0,
        "{x} {y}"
    );
    // Even pace: equal steps of the parameter cover about equal lengths
    // (tokens do not rush through a short run and crawl along a long one).
    let steps: Vec<f64> = (0..100)
        .map(|k| {
            let (a, b) = (
                bezier(&r, k as f64 / 100.0),
                bezier(&r, (k + 1) as f64 / 100.0),
            );
            ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt()
        })
        .collect();
    let mean = steps.iter().sum::<f64>() / steps.len() as f64;
    let (lo, hi) = steps.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &d| {
        (lo.min(d), hi.max(d))
    });
    assert!(
        hi < mean * 1.5 && lo > mean * 0.5,
        "steps {lo}..{hi}, mean {mean}"
    );
}

/// Where a failing record or message goes is drawn: a Kafka group's retry
/// topics (and its reading them back) and dead-letter topics, and an SQS
/// queue's redrive to its dead-letter queue.
#[test]
fn dead_letter_and_retry_destinations_have_edges() {
    use queuelab::layout::EdgeKind;
    let edges = |name: &str| -> Vec<(String, String, EdgeKind, Vec<String>)> {
        let p = preset(name).expect("preset");
        let s = p.scenario();
        let saved = s.layout.clone();
        let engine = Engine::new(s, 1).expect("preset builds");
        let l = Layout::compute_styled(&engine, &saved, usize::MAX / 4, &NORMAL);
        l.edges
            .iter()
            .map(|e| {
                let id = |i: usize| l.nodes[i].id.clone();
                (id(e.from), id(e.to), e.kind, e.label.clone())
            })
            .collect()
    };
    let has = |all: &[(String, String, EdgeKind, Vec<String>)],
               a: &str,
               b: &str,
               k: EdgeKind,
               label: &str| {
        assert!(
            all.iter().any(|e| e.0 == a
                && e.1 == b
                && e.2 == k
                && (label.is_empty() || e.3.iter().any(|l| l == label))),
            "{a} -> {b} ({k:?}, {label:?}) missing: {all:?}"
        );
    };
    let k = edges("kafka-retry-topics");
    has(
        &k,
        "dead-letter",
        "payments-dlt",
        EdgeKind::DeadLetter,
        "after 2 attempts",
    );
    has(
        &k,
        "retry-topics",
        "payments-retry-1s",
        EdgeKind::Requeue,
        "retry in 1s",
    );
    has(
        &k,
        "retry-topics",
        "payments-retry-5s",
        EdgeKind::Requeue,
        "retry in 5s",
    );
    has(&k, "payments-retry-1s", "retry-topics", EdgeKind::Flow, "");
    has(
        &k,
        "retry-topics",
        "payments-retry-dlt",
        EdgeKind::DeadLetter,
        "retries exhausted",
    );
    assert!(
        !k.iter().any(|e| e.0 == "blocking" && e.2 != EdgeKind::Flow),
        "blocking retries in place: no way out drawn"
    );
    let q = edges("sqs-visibility-timeout");
    has(
        &q,
        "jobs",
        "jobs-dlq",
        EdgeKind::DeadLetter,
        "after 3 receives",
    );
}
