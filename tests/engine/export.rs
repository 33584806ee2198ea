//! `queuelab export csv`: the time series as CSV, one row per sample with one
//! depth/unacked pair per queue, deterministic, and consistent with the report;
//! `queuelab export svg`: the topology the app lays out, as a standalone SVG.

use std::process::Command;

fn queuelab(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_queuelab"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_series_csv_has_a_row_per_sample_and_matches_the_report() {
    let o = queuelab(&["export", "csv", "pipeline", "--until", "10s"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let csv = String::from_utf8(o.stdout.clone()).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    let head: Vec<&str> = lines[0].split(',').collect();
    assert_eq!(head[0], "t_s");
    for q in ["raw-images", "resized", "thumbnails"] {
        assert!(
            head.contains(&format!("depth:{q}").as_str()),
            "{}",
            lines[0]
        );
    }
    // pipeline samples every 500 ms: 20 samples in 10 s.
    assert_eq!(lines.len(), 21, "{csv}");
    let last: Vec<&str> = lines[20].split(',').collect();
    assert_eq!(last[0], "10");
    let run = queuelab(&["run", "pipeline", "--until", "10s", "--json"]);
    let r: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(
        last[1],
        r["totals"]["published"].to_string(),
        "published at 10 s"
    );
    // Counters never go down.
    let col = |row: &str, k: usize| row.split(',').nth(k).unwrap().parse::<f64>().unwrap();
    for w in lines[1..].windows(2) {
        assert!(col(w[1], 1) >= col(w[0], 1) && col(w[1], 2) >= col(w[0], 2));
    }
    // Same input, same file.
    assert_eq!(
        queuelab(&["export", "csv", "pipeline", "--until", "10s"]).stdout,
        o.stdout
    );
}

#[test]
fn the_series_csv_has_a_lag_column_per_consumer_group_matching_the_report() {
    let until = |t: &str| {
        let o = queuelab(&["export", "csv", "kafka-offset-reset", "--until", t]);
        assert_eq!(o.status.code(), Some(0));
        String::from_utf8(o.stdout).unwrap()
    };
    let csv = until("10s");
    let lines: Vec<&str> = csv.lines().collect();
    let head: Vec<&str> = lines[0].split(',').collect();
    let at = |name: &str| head.iter().position(|h| *h == name).expect(name);
    let (early, late) = (at("lag:welcome-emails"), at("lag:fraud-model"));
    let last: Vec<&str> = lines.last().unwrap().split(',').collect();
    assert_eq!(last[0], "10");
    let run = queuelab(&["run", "kafka-offset-reset", "--until", "10s", "--json"]);
    let r: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    for (col, g) in [(early, "welcome-emails"), (late, "fraud-model")] {
        assert_eq!(
            last[col],
            r["nodes"][g]["lag"].to_string(),
            "{g}'s lag at 10 s"
        );
    }
    // Before the groups join (8 s) nothing is committed: both owe the whole log.
    let row7: Vec<&str> = lines
        .iter()
        .find(|l| l.starts_with("7,"))
        .unwrap()
        .split(',')
        .collect();
    assert_eq!(row7[early], row7[late]);
    assert!(row7[early].parse::<u64>().unwrap() > 300, "{}", lines[0]);
    // A preset without groups has no lag column.
    let plain = queuelab(&["export", "csv", "pipeline", "--until", "1s"]).stdout;
    assert!(!String::from_utf8(plain)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .contains("lag:"));
}

#[test]
fn a_run_that_ends_between_samples_gets_a_last_row_at_its_end() {
    // pipeline samples every 500 ms; 10.2 s ends 200 ms after the last sample.
    let o = queuelab(&["export", "csv", "pipeline", "--until", "10.2s"]);
    assert_eq!(o.status.code(), Some(0));
    let csv = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 22, "20 samples and the end: {csv}");
    let last: Vec<&str> = lines[21].split(',').collect();
    assert_eq!(last[0], "10.2");
    let run = queuelab(&["run", "pipeline", "--until", "10.2s", "--json"]);
    let r: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(
        last[1],
        r["totals"]["published"].to_string(),
        "the last row is the run's end state"
    );
}

#[test]
fn export_errors_are_named() {
    let o = queuelab(&["export", "gif", "mm1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("export takes csv"));
    let o = queuelab(&["export", "csv", "mm1", "--json"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn the_topology_svg_has_every_node_and_edge_and_is_the_same_every_time() {
    for preset in [
        "topic-routing",
        "pulsar-subscription-types",
        "sqs-fifo-groups",
    ] {
        let o = queuelab(&["export", "svg", preset]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let svg = String::from_utf8(o.stdout.clone()).unwrap();
        assert!(
            svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
            "{preset}"
        );
        assert!(svg.trim_end().ends_with("</svg>"), "{preset}");
        let sc =
            queuelab::scenario::load(queuelab::scenario::preset(preset).unwrap().json).unwrap();
        let e = queuelab::engine::Engine::new(sc, 1).unwrap();
        for n in e.nodes() {
            assert!(
                svg.contains(&format!(">{}</text>", n.id)),
                "{preset}: node {} missing",
                n.id
            );
        }
        // One rounded box per node, one arrow path per edge at least.
        assert_eq!(svg.matches("rx=\"8\"").count(), e.nodes().len(), "{preset}");
        assert!(
            svg.matches("marker-end").count() >= e.nodes().len() - 1,
            "{preset}"
        );
        // Deterministic: the same bytes again.
        assert_eq!(queuelab(&["export", "svg", preset]).stdout, o.stdout);
    }
    // The configuration tags the boxes the way the canvas does.
    let svg = String::from_utf8(queuelab(&["export", "svg", "pulsar-subscription-types"]).stdout)
        .unwrap();
    assert!(svg.contains("SUBSCRIPTION · KEY_SHARED"));
    let svg = String::from_utf8(queuelab(&["export", "svg", "sqs-fifo-groups"]).stdout).unwrap();
    assert!(svg.contains(">SQS FIFO<"));
    // Anything else is refused with what export takes.
    let o = queuelab(&["export", "png", "mm1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("csv (the time series) or svg (the topology)")
    );
}
