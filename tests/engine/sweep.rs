//! What-if sweeps: axis parsing, a grid with common random numbers, means
//! with Student-t intervals, output independent of the thread count, and the
//! CLI's table, CSV and SVG.

use queuelab::scenario;
use queuelab::sweep::{self, Axis, Plan};
use serde_json::json;
use std::process::Command;

#[test]
fn axes_parse_ranges_steps_and_lists() {
    let a = sweep::parse_axis("consumers[0].instances=1..4").unwrap();
    assert_eq!(
        a,
        Axis {
            path: "consumers[0].instances".into(),
            values: vec![json!(1), json!(2), json!(3), json!(4)]
        }
    );
    assert_eq!(
        sweep::parse_axis("x=2..9:3").unwrap().values,
        vec![json!(2), json!(5), json!(8)]
    );
    assert_eq!(
        sweep::parse_axis("producers[0].rate=10/s, 20/s")
            .unwrap()
            .values,
        vec![json!("10/s"), json!("20/s")]
    );
    assert_eq!(
        sweep::parse_axis("a=0.5,true,\"q\"").unwrap().values,
        vec![json!(0.5), json!(true), json!("q")]
    );
    // A comma inside a quoted value does not split it (Kafka's cleanup policy).
    assert_eq!(
        sweep::parse_axis("topics[0].cleanup=\"compact,delete\",\"delete\"")
            .unwrap()
            .values,
        vec![json!("compact,delete"), json!("delete")]
    );
    for (bad, says) in [
        ("no-equals", "write PATH=VALUES"),
        ("a=5..2", "is empty"),
        ("a=1..x", "not a whole number"),
        ("a=1..5:0", "is empty"),
        ("a..b=1", "expected a field name"),
        ("a=", "no values"),
        ("a=1..100000", "at most"),
    ] {
        let e = sweep::parse_axis(bad).expect_err(bad);
        assert!(e.contains(says), "{bad}: {e}");
    }
}

#[test]
fn intervals_are_student_t() {
    let e = sweep::estimate(&[1.0, 2.0, 3.0]);
    assert_eq!(e.mean, 2.0);
    // sd = 1, n = 3: 4.303 / sqrt(3).
    assert!((e.half_width - 4.303 / 3f64.sqrt()).abs() < 1e-9);
    assert_eq!(sweep::estimate(&[7.0]).half_width, 0.0);
    // Past the table: t(31) 2.0395, t(52) 2.0066, t(120) 1.9799 (tables of
    // Student's t), never the normal 1.96, and no jump after 30.
    for (df, t) in [(31, 2.0395), (52, 2.0066), (100, 1.9840), (120, 1.9799)] {
        assert!(
            (sweep::t975(df) - t).abs() < 1e-4,
            "t975({df}) = {}",
            sweep::t975(df)
        );
    }
    assert!(sweep::t975(30) > sweep::t975(31) && sweep::t975(31) > sweep::t975(1000));
}

fn plan(axes: Vec<Axis>, seeds: usize) -> Plan {
    Plan {
        scenario: scenario::preset("mmc").unwrap().scenario(),
        axes,
        seeds: sweep::seeds(1, seeds),
        until_us: 120_000_000,
        metrics: sweep::default_metrics(),
    }
}

#[test]
fn more_servers_wait_less_and_threads_do_not_change_the_result() {
    let p = plan(
        vec![sweep::parse_axis("consumers[0].instances=3..5").unwrap()],
        4,
    );
    let one = sweep::run(&p, 1).unwrap();
    let three = sweep::run(&p, 3).unwrap();
    assert_eq!(sweep::csv(&p, &one), sweep::csv(&p, &three));
    let means: Vec<f64> = one.estimates.iter().map(|e| e[0].mean).collect();
    assert!(means[0] > means[1] && means[1] > means[2], "{means:?}");
    // Common random numbers: arrivals do not depend on the server count, so
    // throughput is the same at 4 and 5 servers, where nobody waits long.
    let tp = |k: usize| one.estimates[k][2].mean;
    assert!(
        (tp(1) - tp(2)).abs() < 0.05 * tp(1),
        "{} vs {}",
        tp(1),
        tp(2)
    );
    let csv = sweep::csv(&p, &one);
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(csv.starts_with("consumers[0].instances,seeds,latency_us.end_to_end.mean:mean,"));
    let svg = sweep::svg(&p, &one, "t");
    assert!(svg.starts_with("<svg") && svg.matches("<circle").count() == 3);
}

#[test]
fn a_bad_point_or_too_many_runs_is_named() {
    let p = plan(
        vec![sweep::parse_axis("consumers[0].prefetch=0..1").unwrap()],
        2,
    );
    let e = sweep::run(&p, 1).unwrap_err();
    assert!(
        e.contains("at consumers[0].prefetch=0") && e.contains("consumers[0].prefetch"),
        "{e}"
    );
    let p = plan(
        vec![sweep::parse_axis("consumers[0].instances=1..1000").unwrap()],
        3,
    );
    assert!(sweep::run(&p, 1).unwrap_err().contains("at most"));
    let mut p = plan(
        vec![sweep::parse_axis("consumers[0].instances=3..4").unwrap()],
        2,
    );
    p.metrics = vec!["totals.nope".into()];
    assert!(sweep::run(&p, 1).unwrap_err().contains("totals.nope"));
}

#[test]
fn the_cli_writes_a_table_csv_and_svg() {
    let dir = std::env::temp_dir().join(format!("queuelab-sweep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (csv, svg) = (dir.join("s.csv"), dir.join("s.svg"));
    let o = Command::new(env!("CARGO_BIN_EXE_queuelab"))
        .args([
            "sweep",
            "work-queue",
            "--set",
            "consumers[0].instances=1..3",
            "--seeds",
            "3",
            "--until",
            "30s",
            "--jobs",
            "2",
            "--csv",
        ])
        .arg(&csv)
        .arg("--svg")
        .arg(&svg)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("3 points × 3 seeds, 30s each"), "{out}");
    assert_eq!(std::fs::read_to_string(&csv).unwrap().lines().count(), 4);
    assert!(std::fs::read_to_string(&svg)
        .unwrap()
        .contains("consumers[0].instances"));
    let o = Command::new(env!("CARGO_BIN_EXE_queuelab"))
        .args(["sweep", "work-queue"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("at least one --set"));
}

#[test]
fn the_cli_refuses_seed_and_job_counts_out_of_range_instead_of_clamping_them() {
    let sweep = |extra: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_queuelab"))
            .args([
                "sweep",
                "mm1",
                "--set",
                "producers[0].rate=4/s",
                "--until",
                "5s",
            ])
            .args(extra)
            .output()
            .unwrap();
        let text =
            String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
        (o.status.code(), text)
    };
    for (extra, want) in [
        (
            &["--seeds", "0"][..],
            "--seeds: 0 is out of range: from 1 to 2000",
        ),
        (&["--seeds", "2001"][..], "--seeds: 2001 is out of range"),
        (
            &["--jobs", "0"][..],
            "--jobs: 0 is out of range: from 1 to 64",
        ),
        (&["--jobs", "65"][..], "--jobs: 65 is out of range"),
    ] {
        let (code, text) = sweep(extra);
        assert_eq!(code, Some(2), "{extra:?}: {text}");
        assert!(text.contains(want), "{extra:?}: {text}");
    }
    // One seed runs, and the header says why the ± columns are zero.
    let (code, text) = sweep(&["--seeds", "1", "--jobs", "1"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("mm1: 1 point × 1 seed, 5s each (one seed: the ± columns need two or more)"),
        "{text}"
    );
}

/// A capacity planner types a range spanning most of i64 (a slip of the
/// keyboard, or a fuzzer). `b - a` overflowed i64: the count of values came
/// out negative (`-8446744073709551615 values`) or wrapped to zero (`no
/// values`). It is counted exactly and refused for being too many.
#[test]
fn a_range_wider_than_i64_is_counted_exactly_and_refused() {
    for (range, want) in [
        (
            "-5000000000000000000..5000000000000000000",
            "10000000000000000001 values; at most 2000",
        ),
        (
            "-9223372036854775808..9223372036854775807",
            "18446744073709551616 values; at most 2000",
        ),
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_queuelab"))
            .args(["sweep", "mm1", "--set"])
            .arg(format!("consumers[0].prefetch={range}"))
            .args(["--until", "1s", "--seeds", "1"])
            .output()
            .unwrap();
        let text =
            String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{range}: {text}");
        assert!(text.contains(want), "{range}: {text}");
        assert!(!text.contains("panicked"), "{text}");
    }
}

/// The widest range with a step that fits: its last value's `k * step`
/// overflows i64 on the way, the value itself does not.
#[test]
fn a_range_with_a_huge_step_lists_its_values_exactly() {
    let a = sweep::parse_axis("x=-9223372036854775808..9223372036854775807:9223372036854775807")
        .unwrap();
    assert_eq!(
        a.values,
        vec![json!(i64::MIN), json!(-1), json!(i64::MAX - 1)]
    );
}
