//! The `queuelab` binary: list, schema, validate and run; exit codes (0 ok,
//! 2 invalid scenario or arguments with the problem named on stderr, 1 other
//! failures); no input makes it panic; the JSON report and the JSONL trace
//! have the fields the foundation issue names.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn queuelab(args: &[&str]) -> Output {
    queuelab_os(args)
}

fn queuelab_os<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_queuelab"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited, not killed by a signal")
}
fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh scratch directory per test.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("queuelab-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_string_lossy().into_owned()
}

/// Exit 2, no panic, and stderr mentions `needle`.
fn assert_rejected(o: &Output, needle: &str, what: &str) {
    let err = stderr(o);
    assert!(!err.contains("panicked"), "{what}: panicked: {err}");
    assert_eq!(code(o), 2, "{what}: exit code; stderr: {err}");
    assert!(
        err.contains(needle),
        "{what}: stderr should name {needle:?}: {err}"
    );
}

#[test]
fn list_shows_every_preset_with_its_title() {
    let o = queuelab(&["list"]);
    assert_eq!(code(&o), 0);
    let out = stdout(&o);
    assert!(out.lines().count() >= 10);
    for p in queuelab::scenario::presets() {
        let title = p.scenario().title;
        assert!(
            out.lines()
                .any(|l| l.starts_with(p.name) && l.contains(&title)),
            "{} missing from list:\n{out}",
            p.name
        );
    }
    assert_rejected(
        &queuelab(&["list", "extra"]),
        "list",
        "list with an argument",
    );
}

#[test]
fn schema_is_a_json_schema_of_the_scenario() {
    let o = queuelab(&["schema"]);
    assert_eq!(code(&o), 0);
    let s: Value = serde_json::from_str(&stdout(&o)).expect("schema is JSON");
    assert!(s["$schema"].is_string());
    for field in [
        "title",
        "producers",
        "exchanges",
        "queues",
        "consumers",
        "schedule",
    ] {
        assert!(s["properties"][field].is_object(), "schema lacks {field}");
    }
    let defs = s["$defs"].as_object().expect("$defs");
    for def in [
        "Producer", "Exchange", "Queue", "Consumer", "Duration", "Rate",
    ] {
        assert!(defs.contains_key(def), "schema lacks $defs.{def}");
    }
}

#[test]
fn validate_accepts_every_preset_file() {
    let dir = scratch("validate-ok");
    for p in queuelab::scenario::presets() {
        let f = write(&dir, &format!("{}.json", p.name), p.json.as_bytes());
        let o = queuelab(&["validate", &f]);
        assert_eq!(code(&o), 0, "{}: {}", p.name, stderr(&o));
        assert!(stdout(&o).contains("ok"));
    }
}

#[test]
fn validate_names_the_path_of_each_problem() {
    let dir = scratch("validate-bad");
    let cases: &[(&str, &str)] = &[
        // Structural errors: the first one, with its path.
        (
            r#"{"title": "t", "consumers": [{"id": "c", "prefetch": "lots"}]}"#,
            "consumers[0]",
        ),
        (r#"{"title": "t", "zzz_unknown": 1}"#, "zzz_unknown"),
        (
            r#"{"title": "t", "queues": [{"id": "q", "max_lenght": 3}]}"#,
            "max_lenght",
        ),
        (
            r#"{"title": "t", "producers": [{"id": "p", "to": "q", "rate": "fast"}]}"#,
            "producers[0].rate",
        ),
        (
            r#"{"title": "t", "queues": [{"id": "q", "ttl": "3 parsecs"}]}"#,
            "queues[0].ttl",
        ),
        (
            r#"{"title": "t", "queues": [{"id": "q", "overflow": "explode"}]}"#,
            "queues[0].overflow",
        ),
        // Semantic errors: every one, each with its path.
        (
            r#"{"title": "t", "queues": [{"id": "q"}], "consumers": [{"id": "c", "queue": "q", "prefetch": 0, "service": {"constant": "1ms"}}]}"#,
            "consumers[0].prefetch: must be at least 1",
        ),
        (
            r#"{"title": "t", "exchanges": [{"id": "x", "kind": "direct", "bindings": [{"queue": "missing"}]}]}"#,
            "exchanges[0].bindings[0].queue: no queue named \"missing\"",
        ),
        (
            r#"{"title": "t", "queues": [{"id": "q", "overflow": "reject-newest"}]}"#,
            "queues[0].overflow",
        ),
        (
            r#"{"title": "t", "queues": [{"id": "q"}, {"id": "q"}]}"#,
            "queues[1].id",
        ),
        (
            r#"{"title": "t", "queues": [{"id": "q"}], "consumers": [{"id": "c", "queue": "q", "failure_rate": 1.5, "service": {"constant": "1ms"}}]}"#,
            "consumers[0].failure_rate",
        ),
        (r#"{"title": ""}"#, "title"),
    ];
    for (i, (json, needle)) in cases.iter().enumerate() {
        let f = write(&dir, &format!("bad{i}.json"), json.as_bytes());
        assert_rejected(&queuelab(&["validate", &f]), needle, json);
        // `run` refuses the same file the same way.
        assert_rejected(&queuelab(&["run", &f]), needle, json);
    }
}

#[test]
fn random_bytes_and_malformed_json_never_panic() {
    let dir = scratch("junk");
    let mut inputs: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"null".to_vec(),
        b"[]".to_vec(),
        b"{".to_vec(),
        b"{\"title\": \"t\"".to_vec(),
        b"{\"title\": \"t\"} trailing".to_vec(),
        // A byte-order mark is skipped (see `a_byte_order_mark_is_skipped`);
        // what follows it is still checked.
        "\u{feff}{\"title\": 5}".as_bytes().to_vec(),
        b"{\"title\": \"t\", \"seed\": 1e999}".to_vec(),
        b"{\"title\": \"t\", \"seed\": -1}".to_vec(),
        b"{\"title\": \"t\", \"duration\": \"99999999999999999999h\"}".to_vec(),
        b"{\"title\": \"t\", \"producers\": [{\"id\": \"p\", \"to\": \"p\", \"rate\": \"1e9/s\"}]}"
            .to_vec(),
        format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes(),
        vec![0xff, 0xfe, 0x00, 0x7b],
    ];
    // Pseudo-random bytes from a fixed LCG, so a failure reproduces.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for len in [1usize, 7, 64, 500, 3000] {
        let mut v = Vec::with_capacity(len);
        for _ in 0..len {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            v.push((x >> 56) as u8);
        }
        inputs.push(v);
    }
    for (i, bytes) in inputs.iter().enumerate() {
        let f = write(&dir, &format!("junk{i}.json"), bytes);
        for cmd in ["validate", "run"] {
            let o = queuelab(&[cmd, &f]);
            assert_rejected(&o, "invalid scenario", &format!("{cmd} junk{i}"));
        }
    }
}

#[test]
fn bad_arguments_exit_2_naming_the_problem() {
    let cases: &[(&[&str], &str)] = &[
        (&[], "missing command"),
        (&["frobnicate"], "frobnicate"),
        (&["run"], "run needs"),
        (&["run", "no-such-preset"], "no-such-preset"),
        (&["run", "mm1", "--seed"], "--seed"),
        (&["run", "mm1", "--seed", "abc"], "--seed"),
        (&["run", "mm1", "--seed", "-1"], "--seed"),
        (&["run", "mm1", "--until", "5parsecs"], "--until"),
        (&["run", "mm1", "--until", "5"], "--until"),
        (&["run", "mm1", "--max-events", "many"], "--max-events"),
        (&["run", "mm1", "--colour"], "--colour"),
        (&["run", "mm1", "mmc"], "one scenario"),
        (&["validate"], "validate"),
        (&["validate", "/no/such/file.json"], "/no/such/file.json"),
        (&["schema", "x"], "schema"),
    ];
    for (args, needle) in cases {
        assert_rejected(&queuelab(args), needle, &format!("{args:?}"));
    }
    let help = queuelab(&["--help"]);
    assert_eq!(code(&help), 0);
    assert!(stdout(&help).contains("USAGE"));
}

#[test]
fn an_unwritable_trace_file_exits_1() {
    let o = queuelab(&[
        "run",
        "mm1",
        "--until",
        "1s",
        "--trace",
        "/no/such/dir/t.jsonl",
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("/no/such/dir/t.jsonl"));
}

fn json_report(args: &[&str]) -> (Value, String) {
    let o = queuelab(args);
    assert_eq!(code(&o), 0, "{args:?}: {}", stderr(&o));
    let text = stdout(&o);
    (
        serde_json::from_str(&text).expect("--json prints JSON"),
        text,
    )
}

#[test]
fn json_report_has_the_promised_fields() {
    let (r, _) = json_report(&[
        "run",
        "work-queue",
        "--seed",
        "3",
        "--until",
        "20s",
        "--json",
    ]);
    assert_eq!(r["seed"], 3);
    assert_eq!(r["sim_time_us"], 20_000_000);
    assert!(r["events"].as_u64().unwrap() > 0);
    let hash = r["trace_hash"].as_str().unwrap();
    assert_eq!(hash.len(), 16);
    assert!(hash.chars().all(|c| c.is_ascii_hexdigit()));
    for k in [
        "published",
        "routed",
        "unroutable",
        "enqueued",
        "delivered",
        "acked",
        "redelivered",
        "retried",
        "dead_lettered",
        "expired",
        "dropped",
        "processed",
        "in_flight",
    ] {
        assert!(r["totals"][k].is_u64(), "totals.{k} missing");
    }
    for k in ["wait", "end_to_end"] {
        for p in ["mean", "p50", "p95", "p99", "max"] {
            assert!(
                r["latency_us"][k][p].is_number(),
                "latency_us.{k}.{p} missing"
            );
        }
        let l = &r["latency_us"][k];
        let (p50, p95, p99, max) = (
            l["p50"].as_u64().unwrap(),
            l["p95"].as_u64().unwrap(),
            l["p99"].as_u64().unwrap(),
            l["max"].as_u64().unwrap(),
        );
        assert!(p50 <= p95 && p95 <= p99 && p99 <= max, "{k}: {l}");
    }
    let nodes = r["nodes"].as_object().unwrap();
    let s = queuelab::scenario::preset("work-queue").unwrap().scenario();
    for id in s
        .producers
        .iter()
        .map(|p| &p.id)
        .chain(s.queues.iter().map(|q| &q.id))
        .chain(s.consumers.iter().map(|c| &c.id))
    {
        assert!(nodes.contains_key(id), "nodes.{id} missing");
    }
    // Conservation in the report's own numbers.
    let t = &r["totals"];
    let n = |k: &str| t[k].as_u64().unwrap();
    assert_eq!(
        n("published") + n("copies"),
        n("completed") + n("dropped") + n("in_flight"),
        "{t}"
    );
}

#[test]
fn same_seed_same_output_other_seed_other_hash() {
    let args = |seed: &'static str| ["run", "mm1", "--seed", seed, "--until", "120s", "--json"];
    let (a, ta) = json_report(&args("7"));
    let (_, tb) = json_report(&args("7"));
    let (c, _) = json_report(&args("8"));
    assert_eq!(ta, tb, "same seed, different report");
    assert_ne!(a["trace_hash"], c["trace_hash"]);
    // The text report is deterministic too.
    let t1 = stdout(&queuelab(&["run", "mm1", "--seed", "7", "--until", "30s"]));
    let t2 = stdout(&queuelab(&["run", "mm1", "--seed", "7", "--until", "30s"]));
    assert_eq!(t1, t2);
    for heading in ["messages", "latency", "nodes", "published", "end to end"] {
        assert!(t1.contains(heading), "text report lacks {heading}:\n{t1}");
    }
}

#[test]
fn the_cli_agrees_with_the_library() {
    let (r, _) = json_report(&[
        "run",
        "retry-backoff",
        "--seed",
        "5",
        "--until",
        "15s",
        "--json",
    ]);
    let mut e = queuelab::engine::Engine::new(
        queuelab::scenario::preset("retry-backoff")
            .unwrap()
            .scenario(),
        5,
    )
    .unwrap();
    e.run_until(queuelab::engine::SimTime(15_000_000), u64::MAX);
    assert_eq!(r["trace_hash"], format!("{:016x}", e.trace_hash()));
    assert_eq!(r["events"], e.events());
}

#[test]
fn max_events_stops_early_and_says_so() {
    let o = queuelab(&["run", "mm1", "--max-events", "100", "--json"]);
    assert_eq!(code(&o), 0);
    let r: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(r["events"], 100);
    assert!(stderr(&o).contains("--max-events"));
}

#[test]
fn trace_file_has_one_json_object_per_event() {
    let dir = scratch("trace");
    let path = dir.join("t.jsonl");
    let p = path.to_string_lossy().into_owned();
    let (r, _) = json_report(&[
        "run",
        "crash-recovery",
        "--until",
        "15s",
        "--json",
        "--trace",
        &p,
    ]);
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is one JSON object"))
        .collect();
    assert_eq!(lines.len() as u64, r["trace_events"].as_u64().unwrap());
    let kinds = queuelab::engine::TraceKind::NAMES;
    let mut last_t = 0;
    for (i, ev) in lines.iter().enumerate() {
        for k in ["t_us", "seq", "kind", "msg", "node"] {
            assert!(ev.get(k).is_some(), "line {i} lacks {k}: {ev}");
        }
        assert_eq!(ev["seq"], i as u64, "seq counts the lines");
        let t = ev["t_us"].as_u64().unwrap();
        assert!(t >= last_t, "time went back at line {i}");
        last_t = t;
        assert!(kinds.contains(&ev["kind"].as_str().unwrap()));
        assert!(ev["node"].is_string());
    }
    // Fields of the kind are there too, with node references as ids.
    let crash = lines
        .iter()
        .find(|e| e["kind"] == "crashed")
        .expect("a crash at 10 s");
    assert_eq!(crash["t_us"], 10_000_000);
    assert!(crash["returned"].is_u64() && crash["lost"].is_u64());
    let delivered = lines.iter().find(|e| e["kind"] == "delivered").unwrap();
    assert!(delivered["consumer"].is_string() && delivered["msg"].is_u64());
    let dropped = lines.iter().find(|e| e["kind"] == "dropped").unwrap();
    assert_eq!(dropped["reason"], "lost_after_auto_ack");
    // The same run gives the same file.
    let p2 = dir.join("t2.jsonl").to_string_lossy().into_owned();
    json_report(&[
        "run",
        "crash-recovery",
        "--until",
        "15s",
        "--json",
        "--trace",
        &p2,
    ]);
    assert_eq!(text, std::fs::read_to_string(&p2).unwrap());
}

/// One burst of 62,000 into an 8-way fanout records about 1.05 M trace events
/// in a single engine event, more than the trace buffer holds (2^20). The
/// trace file used to come out incomplete (exit 1); the buffer now drains
/// into the file as it fills, mid-event.
#[test]
fn a_burst_bigger_than_the_trace_buffer_is_traced_completely() {
    let dir = scratch("burst-trace");
    let bindings: Vec<String> = (0..8)
        .map(|i| format!(r#"{{ "queue": "q{i}" }}"#))
        .collect();
    let queues: Vec<String> = (0..8).map(|i| format!(r#"{{ "id": "q{i}" }}"#)).collect();
    let scenario = format!(
        r#"{{ "title": "one big burst",
  "producers": [{{ "id": "p", "to": "x", "rate": "62000/s", "arrival": {{ "bursts": {{ "size": 62000 }} }}, "count": 62000 }}],
  "exchanges": [{{ "id": "x", "kind": "fanout", "bindings": [{}] }}],
  "queues": [{}] }}"#,
        bindings.join(", "),
        queues.join(", ")
    );
    let file = write(&dir, "burst.json", scenario.as_bytes());
    let trace = dir.join("t.jsonl").to_string_lossy().into_owned();
    let o = queuelab(&["run", &file, "--until", "2s", "--json", "--trace", &trace]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let r: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let events = r["trace_events"].as_u64().unwrap();
    assert!(
        events > 1 << 20,
        "the burst must overfill the buffer: {events}"
    );
    // Every event is in the file, once, in order.
    let text = std::fs::read_to_string(&trace).unwrap();
    let mut n = 0u64;
    for (i, line) in text.lines().enumerate() {
        // Parse a sample of the lines; count all of them.
        if i % 10_007 == 0 {
            let ev: Value = serde_json::from_str(line).unwrap();
            assert_eq!(ev["seq"], i as u64);
        }
        n += 1;
    }
    assert_eq!(n, events);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A trace file that fills up mid-run (here `/dev/full`) is an error, exit 1
/// with the reason; the writer does not carry on silently.
#[test]
fn a_trace_write_error_exits_1() {
    if !Path::new("/dev/full").exists() {
        return;
    }
    let o = queuelab(&["run", "mm1", "--until", "5s", "--trace", "/dev/full"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("No space left"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"));
}

// ------------------------------------------------------------ input hardening

/// A closed or full stderr/stdout is not a panic (exit 101): warnings are
/// dropped, failures keep their documented exit code.
#[test]
fn a_full_stderr_or_stdout_keeps_the_exit_codes() {
    let with = |args: &[&str], stdout_full: bool| {
        let full = || {
            std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap()
        };
        let mut c = Command::new(env!("CARGO_BIN_EXE_queuelab"));
        c.args(args).stderr(full());
        if stdout_full {
            c.stdout(full());
        } else {
            c.stdout(std::process::Stdio::null());
        }
        c.status().expect("the binary runs").code()
    };
    // A run that warns on stderr (stopped at --max-events) still succeeds.
    let warns = ["run", "mm1", "--until", "10s", "--max-events", "5"];
    assert_eq!(with(&warns, false), Some(0));
    // A usage error whose message cannot be shown still exits 2.
    assert_eq!(with(&["run", "no-such-preset"], false), Some(2));
    // Output that cannot be written is a failure (1), not a panic.
    assert_eq!(with(&["list"], true), Some(1));
    assert_eq!(
        with(&["run", "mm1", "--until", "1s", "--json"], true),
        Some(1)
    );
}

/// `queuelab ... | head -1`: the reader closing the pipe ends the output
/// quietly with exit 0, not "cannot write output" and exit 1.
#[cfg(unix)]
#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    use std::io::{BufRead, BufReader};
    // Megabytes of trace on stdout, far more than a pipe buffer holds.
    let mut child = Command::new(env!("CARGO_BIN_EXE_queuelab"))
        .args(["run", "mm1", "--until", "600s", "--trace", "/dev/stdout"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with('{'), "{first}");
    // The reader is dropped here: the pipe is closed.
    let o = child.wait_with_output().unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
}

#[cfg(unix)]
#[test]
fn file_names_need_not_be_utf8() {
    use std::os::unix::ffi::OsStrExt;
    let dir = scratch("non-utf8");
    let name = std::ffi::OsStr::from_bytes(b"mm1-\xff\xfe.json");
    let path = dir.join(name);
    std::fs::write(&path, include_str!("../../scenarios/mm1.json")).unwrap();
    let o = queuelab_os(&[std::ffi::OsStr::new("validate"), path.as_os_str()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("ok"), "{}", stdout(&o));
    let (a, _) = json_report(&["run", "mm1", "--until", "5s", "--json"]);
    let o = queuelab_os(&[
        std::ffi::OsStr::new("run"),
        path.as_os_str(),
        std::ffi::OsStr::new("--until"),
        std::ffi::OsStr::new("5s"),
        std::ffi::OsStr::new("--json"),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let b: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(a["trace_hash"], b["trace_hash"]);
    // A trace file may have such a name too.
    let trace = dir.join(std::ffi::OsStr::from_bytes(b"t-\xff.jsonl"));
    let o = queuelab_os(&[
        std::ffi::OsStr::new("run"),
        std::ffi::OsStr::new("mm1"),
        std::ffi::OsStr::new("--until"),
        std::ffi::OsStr::new("1s"),
        std::ffi::OsStr::new("--trace"),
        trace.as_os_str(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(std::fs::read(&trace).unwrap().len() > 100);
}

#[test]
fn a_byte_order_mark_is_skipped() {
    let dir = scratch("bom");
    let mut bytes = b"\xef\xbb\xbf".to_vec();
    bytes.extend_from_slice(include_bytes!("../../scenarios/mm1.json"));
    let f = write(&dir, "bom.json", &bytes);
    let o = queuelab(&["validate", &f]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let (a, _) = json_report(&["run", "mm1", "--until", "5s", "--json"]);
    let (b, _) = json_report(&["run", &f, "--until", "5s", "--json"]);
    assert_eq!(a["trace_hash"], b["trace_hash"]);
}

#[test]
fn an_error_inside_a_schedule_command_names_its_field_and_line() {
    let dir = scratch("schedule-path");
    let text = r#"{
  "title": "x",
  "producers": [{"id": "p", "to": "q", "rate": "5/s"}],
  "queues": [{"id": "q"}],
  "schedule": [
    {"at": "1s", "command": {"do": "pause_producer", "producer": "p"}},
    {"at": "2s", "command": {
        "do": "set_rate",
        "producer": "p",
        "rate": 17
    }}
  ]
}"#;
    let f = write(&dir, "s.json", text.as_bytes());
    let o = queuelab(&["validate", &f]);
    assert_rejected(&o, "schedule[1].command.rate: invalid type", "bad rate");
    assert!(stderr(&o).contains("line 10"), "{}", stderr(&o));
    // An unknown field and an unknown command are named the same way.
    let f = write(
        &dir,
        "s2.json",
        text.replace("\"rate\": 17", "\"rate\": \"1/s\", \"speed\": 2")
            .as_bytes(),
    );
    let o = queuelab(&["validate", &f]);
    assert_rejected(
        &o,
        "schedule[1].command.speed: unknown field",
        "extra field",
    );
    assert!(stderr(&o).contains("line 10"), "{}", stderr(&o));
    let f = write(
        &dir,
        "s3.json",
        text.replace("\"set_rate\"", "\"set_speed\"").as_bytes(),
    );
    let o = queuelab(&["validate", &f]);
    assert_rejected(&o, "schedule[1].command.do: unknown variant", "bad command");
    assert!(stderr(&o).contains("line 8"), "{}", stderr(&o));
}

#[test]
fn huge_input_is_refused_at_the_size_limit() {
    let o = queuelab(&["validate", "/dev/zero"]);
    assert_rejected(&o, "4 MiB", "/dev/zero");
    let o = queuelab(&["run", "/dev/zero"]);
    assert_rejected(&o, "4 MiB", "run /dev/zero");
    // Just over the limit: refused; the limit itself is not the problem.
    let dir = scratch("huge");
    let limit = queuelab::scenario::SCENARIO_BYTES_MAX;
    let mut over = include_bytes!("../../scenarios/mm1.json").to_vec();
    over.resize(limit + 1, b' ');
    assert_rejected(
        &queuelab(&["validate", &write(&dir, "over.json", &over)]),
        "limit",
        "4 MiB + 1",
    );
    over.truncate(limit);
    let o = queuelab(&["validate", &write(&dir, "at.json", &over)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

// ------------------------------------------------------------ share links

fn last_line(o: &Output) -> String {
    stdout(o).lines().last().unwrap_or("").to_string()
}

/// The acceptance check: `link mm1 --seed 5`, then `run LINK` replays the same run.
#[test]
fn a_link_replays_the_same_run() {
    let o = queuelab(&["link", "mm1", "--seed", "5"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let link = last_line(&o);
    assert!(link.starts_with("#v1."), "{link}");
    let (a, _) = json_report(&["run", "mm1", "--seed", "5", "--until", "60s", "--json"]);
    let (b, _) = json_report(&["run", &link, "--until", "60s", "--json"]);
    assert_eq!(a["trace_hash"], b["trace_hash"]);
    assert_eq!(b["seed"], 5);
    // A full URL and the bare payload are read the same way.
    let o = queuelab(&[
        "link",
        "mm1",
        "--seed",
        "5",
        "--base",
        "https://example.org/ql/",
    ]);
    let url = last_line(&o);
    assert!(url.starts_with("https://example.org/ql/#v1."), "{url}");
    for text in [url.as_str(), &link[1..]] {
        let (c, _) = json_report(&["run", text, "--until", "60s", "--json"]);
        assert_eq!(a["trace_hash"], c["trace_hash"], "{text}");
    }
    // Without --until a link runs for the scenario's duration, like the file.
    let (d, _) = json_report(&["run", "mm1", "--seed", "5", "--json"]);
    let (e, _) = json_report(&["run", &link, "--json"]);
    assert_eq!(d["trace_hash"], e["trace_hash"]);
    assert_eq!(d["sim_time_us"], e["sim_time_us"]);
}

/// A link with a command log replays it at the recorded points: the CLI gives
/// the trace hash of `Engine::replay`, with and without a trace file.
#[test]
fn a_link_replays_its_command_log() {
    use queuelab::engine::{Command as EngineCommand, Engine, SimTime};
    let s = queuelab::scenario::preset("crash-recovery")
        .unwrap()
        .scenario();
    let consumer = s.consumers[0].id.clone();
    let mut e = Engine::new(s.clone(), 11).unwrap();
    e.run_until(SimTime(3_000_000), u64::MAX);
    e.submit(EngineCommand::SetPrefetch {
        consumer: consumer.clone(),
        prefetch: 3,
    })
    .unwrap();
    // Between two events of one instant, not at a run_until boundary.
    for _ in 0..7 {
        e.step();
    }
    e.submit(EngineCommand::CrashConsumer {
        consumer,
        instance: None,
        restart_after: Some(queuelab::scenario::Duration::from_ms(1500)),
        point: Default::default(),
    })
    .unwrap();
    let mut link = queuelab::link::Link::new(s.clone(), 11);
    link.commands = e.command_log().to_vec();
    link.time_us = e.now().0;
    link.view = "topology".into();
    let text = link.to_url("https://example.org/").unwrap();
    let until = SimTime(20_000_000);
    let want = Engine::replay(s, 11, &link.commands, until).unwrap();
    let want_hash = queuelab::engine::report::hash_hex(want.trace_hash());
    let (r, _) = json_report(&["run", &text, "--until", "20s", "--json"]);
    assert_eq!(r["trace_hash"], want_hash.as_str());
    let dir = scratch("link-trace");
    let trace = dir.join("t.jsonl");
    let (r, _) = json_report(&[
        "run",
        &text,
        "--until",
        "20s",
        "--json",
        "--trace",
        trace.to_str().unwrap(),
    ]);
    assert_eq!(r["trace_hash"], want_hash.as_str());
    let lines = std::fs::read_to_string(&trace).unwrap();
    assert_eq!(lines.lines().count() as u64, want.trace_len());
    assert!(
        lines.contains("command_applied"),
        "the trace shows the commands"
    );
    // A run that stops before a command says it was not replayed.
    let o = queuelab(&["run", &text, "--until", "1s"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("2 of the link's 2 commands"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn hostile_links_exit_2_naming_the_problem() {
    let good = last_line(&queuelab(&["link", "mm1"]));
    let cut = good[..good.len() / 2].to_string();
    let v9 = good.replacen("#v1.", "#v9.", 1);
    let huge = format!("#v1.{}", "A".repeat(queuelab::link::LINK_TEXT_MAX));
    let cases: &[(&str, &str)] = &[
        (&cut, "truncated"),
        (&v9, "version 9"),
        ("#v1.@@@@", "base64"),
        ("https://example.org/", "not a QueueLab link"),
        ("#hello", "not a QueueLab link"),
    ];
    for (text, needle) in cases {
        assert_rejected(&queuelab(&["run", text]), needle, text);
    }
    // Longer than any link may be (still within one argument's 128 KiB).
    assert_rejected(&queuelab(&["run", &huge]), "at most", "huge link");
    // A link whose scenario is invalid names the field inside it.
    let mut s = queuelab::scenario::preset("mm1").unwrap().scenario();
    s.consumers[0].prefetch = 0;
    let bad = queuelab::link::Link::new(s, 1).encode().unwrap();
    assert_rejected(
        &queuelab(&["run", &bad]),
        "scenario.consumers[0].prefetch",
        "invalid scenario",
    );
    // A command log that does not fit its scenario is refused, not run.
    let mut l = queuelab::link::Link::new(queuelab::scenario::preset("mm1").unwrap().scenario(), 1);
    l.commands.push(queuelab::engine::LoggedCommand {
        at_us: 1_000_000,
        after_events: 0,
        command: queuelab::engine::Command::PauseProducer {
            producer: "nobody".into(),
        },
    });
    assert_rejected(
        &queuelab(&["run", &l.encode().unwrap()]),
        "command 0 cannot be replayed",
        "bad command log",
    );
    // A command placed after more events than happen by its time is refused
    // at once (stepping towards 10^18 events would never end).
    l.commands[0] = queuelab::engine::LoggedCommand {
        at_us: 1_000_000,
        after_events: 1_000_000_000_000_000_000,
        command: queuelab::engine::Command::PauseProducer {
            producer: "arrivals".into(),
        },
    };
    let t0 = std::time::Instant::now();
    assert_rejected(
        &queuelab(&["run", &l.encode().unwrap()]),
        "only",
        "an event count out of reach",
    );
    assert!(t0.elapsed() < std::time::Duration::from_secs(10));
    // A missing file that merely looks like a link says both.
    assert_rejected(
        &queuelab(&["run", "v1.json"]),
        "no file or preset named",
        "v1.json",
    );
    // The link fixes the seed; options that do not apply are refused.
    assert_rejected(&queuelab(&["run", &good, "--seed", "3"]), "--seed", "seed");
    assert_rejected(
        &queuelab(&["link", "mm1", "--json"]),
        "--json",
        "link --json",
    );
    assert_rejected(&queuelab(&["link", &good]), "not a link", "link of a link");
    assert_rejected(&queuelab(&["link"]), "link needs", "link alone");
}

#[test]
fn the_text_report_says_when_a_pulsar_unacked_cap_blocked() {
    let dir = scratch("pulsar-blocked");
    // c0 takes 5 s a message and holds at most 4 unacked: blocked at 3 s.
    let file = write(
        &dir,
        "capped.json",
        br#"{ "title": "capped", "duration": "3s",
              "producers": [{ "id": "p", "to": "t", "rate": "10/s", "arrival": "constant" }],
              "pulsar_topics": [{ "id": "t" }],
              "pulsar_subscriptions": [{ "id": "s", "topic": "t", "type": "shared", "consumers": 2,
                "service": { "constant": "10ms" }, "max_unacked_per_consumer": 4,
                "consumer_service": [{ "consumer": 0, "service": { "constant": "5s" } }] }] }"#,
    );
    let o = queuelab(&["run", &file]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("pulsarsub"))
        .expect("a pulsarsub line");
    assert!(
        line.ends_with(
            ", unacked cap hit 1 time(s) by a consumer, 0 by the subscription; blocked now: c0"
        ),
        "{line}"
    );
    // A subscription whose caps never bit says nothing of them.
    let o = queuelab(&["run", "pulsar-subscription-types"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("pulsarsub"), "{out}");
    assert!(!out.contains("unacked cap"), "{out}");
}

/// The mm1 preset's file as JSON.
fn mm1() -> Value {
    serde_json::from_slice(&mm1_with("queues", "id", "mm1-queue".into())).unwrap()
}

/// mm1 with one field of one item replaced (`"consumers"`, 0, `"service"`).
fn mm1_with(list: &str, field: &str, value: Value) -> Vec<u8> {
    let mut v: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/mm1.json"))
            .unwrap(),
    )
    .unwrap();
    v[list][0][field] = value;
    serde_json::to_vec_pretty(&v).unwrap()
}

/// A newcomer writes a service time as a bare number, a bare name, an empty
/// object, a unit variant with a value, and a uniform with three bounds.
/// serde answered from inside the enum ("expected value", "invalid type:
/// unit variant, expected newtype variant", "expected unit", "trailing
/// characters"); each now names the field and every form it takes.
#[test]
fn a_wrong_enum_form_names_the_field_and_lists_the_forms() {
    let d = scratch("enum-forms");
    let service_forms =
        "the forms are {\"constant\": …}, {\"uniform\": …}, {\"exponential\": …}, {\"log_normal\": {…}}";
    for (list, field, value, want) in [
        (
            "consumers",
            "service",
            serde_json::json!(5),
            format!("consumers[0].service: 5 is not a form; {service_forms} at line "),
        ),
        (
            "consumers",
            "service",
            serde_json::json!({}),
            format!("consumers[0].service: {{}} names no form; {service_forms} at line "),
        ),
        (
            "consumers",
            "service",
            serde_json::json!("exponential"),
            format!(
                "consumers[0].service: \"exponential\" needs a value: write {{\"exponential\": …}}; {service_forms}"
            ),
        ),
        (
            "consumers",
            "service",
            serde_json::json!({"uniform": ["1ms", "2ms", "3ms"]}),
            format!(
                "consumers[0].service: \"uniform\" has too many items: write {{\"uniform\": …}}; {service_forms}"
            ),
        ),
        (
            "producers",
            "arrival",
            serde_json::json!({"constant": "1ms"}),
            "producers[0].arrival: \"constant\" takes no value: write \"constant\"; the forms are \"constant\", \"poisson\", {\"bursts\": {…}}"
                .to_string(),
        ),
    ] {
        let f = write(&d, "s.json", &mm1_with(list, field, value.clone()));
        let o = queuelab(&["validate", &f]);
        assert_rejected(&o, &want, &format!("{field}: {value}"));
    }
}

/// A script writes `"queues": [["mm1-queue"]]`: serde fills the queue's
/// fields by position, so it validated (and `[["q", "typo"]]` would hide
/// anything). An object written as a list is refused at its path.
#[test]
fn an_object_written_as_a_list_is_refused_with_its_path() {
    let d = scratch("struct-as-list");
    for (list, value, path) in [
        ("queues", serde_json::json!(["mm1-queue"]), "queues[0]"),
        (
            "consumers",
            serde_json::json!(["server", "mm1-queue", 1, 1, {"exponential": "100ms"}]),
            "consumers[0]",
        ),
    ] {
        let mut v: Value = mm1();
        v[list][0] = value;
        let f = write(&d, "s.json", &serde_json::to_vec(&v).unwrap());
        let o = queuelab(&["validate", &f]);
        assert_rejected(
            &o,
            &format!("{path}: must be an object ({{\"field\": value, ...}}), not a list"),
            path,
        );
    }
}

/// A schedule crashes member 0 of a group that does not exist: one error
/// (the missing group), not a second that the missing group "never has more
/// than 0 members".
#[test]
fn a_command_naming_a_missing_group_gets_one_error() {
    let d = scratch("sched-missing");
    let mut v: Value = mm1();
    v["schedule"] = serde_json::json!([
        {"at": "1s", "command": {"do": "crash_member", "group": "nope", "member": 0}},
        {"at": "1s", "command": {"do": "crash_consumer", "consumer": "gone", "instance": 0}}
    ]);
    let f = write(&d, "s.json", &serde_json::to_vec(&v).unwrap());
    let o = queuelab(&["validate", &f]);
    assert_rejected(
        &o,
        "schedule[0].command.group: no consumer group named \"nope\"",
        "group",
    );
    let err = stderr(&o);
    assert!(
        err.contains("schedule[1].command.consumer: no consumer named \"gone\""),
        "{err}"
    );
    assert!(!err.contains(".member"), "{err}");
    assert!(!err.contains(".instance"), "{err}");
}

/// A 1 MB bad duration and a 70 KB bogus link argument: the error quotes
/// the start of the value, not all of it (it was echoed whole, twice).
#[test]
fn errors_quote_the_start_of_a_huge_value() {
    let d = scratch("huge-echo");
    let huge = format!("1{}", "z".repeat(1_000_000));
    let mut v: Value = mm1();
    v["duration"] = Value::String(huge);
    let f = write(&d, "s.json", &serde_json::to_vec(&v).unwrap());
    let o = queuelab(&["validate", &f]);
    assert_rejected(
        &o,
        "duration: unknown duration unit \"zzzzzzzzzzzzzzzzzzzz…\" in \"1zzz",
        "duration",
    );
    assert!(
        stderr(&o).len() < 1_000,
        "{} bytes of stderr",
        stderr(&o).len()
    );

    let mut v: Value = mm1();
    v["schedule"] = Value::String("y".repeat(1_000_000));
    let f = write(&d, "s.json", &serde_json::to_vec(&v).unwrap());
    let o = queuelab(&["validate", &f]);
    assert_rejected(&o, "schedule: invalid type: string \"yyyy", "schedule");
    assert!(
        stderr(&o).len() < 1_000,
        "{} bytes of stderr",
        stderr(&o).len()
    );

    let link = format!("v1.{}", "A".repeat(70_000));
    let o = queuelab(&["run", &link]);
    assert_rejected(&o, "no file or preset named \"v1.AAAA", "link");
    assert!(
        stderr(&o).len() < 1_000,
        "{} bytes of stderr",
        stderr(&o).len()
    );
}

/// `export svg --seed 7` looked as if the seed mattered; the topology does
/// not depend on a run, and the help says svg takes none of the run options.
#[test]
fn export_svg_refuses_run_options() {
    for extra in [
        &["--seed", "7"][..],
        &["--until", "5s"][..],
        &["--max-events", "10"][..],
    ] {
        let mut args = vec!["export", "svg", "mm1"];
        args.extend(extra);
        let o = queuelab(&args);
        assert_rejected(
            &o,
            &format!("export svg does not take {}", extra[0]),
            extra[0],
        );
    }
    let o = queuelab(&["export", "svg", "mm1"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

/// `lessons check` on files that are not lessons (empty, not JSON, not
/// UTF-8) is invalid input, exit 2 as for a missing file; a non-UTF-8 file
/// says so instead of a JSON error about replacement characters.
#[test]
fn lessons_check_calls_a_file_that_is_no_lesson_invalid() {
    let d = scratch("lesson-files");
    for (name, bytes, says) in [
        ("empty.json", &b""[..], "EOF while parsing"),
        ("text.json", &b"hello"[..], "expected value"),
        (
            "latin1.json",
            &b"{\"title\": \"caf\xe9\"}"[..],
            "not UTF-8 text (a bad byte at offset 14)",
        ),
    ] {
        let f = write(&d, name, bytes);
        let o = queuelab(&["lessons", "check", &f]);
        let out = stdout(&o);
        assert_eq!(code(&o), 2, "{name}: {out}{}", stderr(&o));
        assert!(
            out.contains("INVALID lesson") && out.contains(says),
            "{name}: {out}"
        );
    }
}

/// A base scenario with a zero duration and three variants: the base's
/// error once came back three more times, once per variant.
#[test]
fn an_invalid_base_is_reported_once_not_per_variant() {
    let d = scratch("variants-base");
    let mut v: Value = mm1();
    v["duration"] = "0s".into();
    v["variants"] = serde_json::json!([
        {"name": "one", "set": {"consumers[0].instances": 1}},
        {"name": "two", "set": {"consumers[0].instances": 2}},
        {"name": "three", "set": {"consumers[0].instances": 3}}
    ]);
    let f = write(&d, "s.json", &serde_json::to_vec(&v).unwrap());
    let o = queuelab(&["validate", &f]);
    assert_rejected(&o, "duration: must be positive", "base");
    let err = stderr(&o);
    assert_eq!(err.matches("must be positive").count(), 1, "{err}");
    assert!(!err.contains("variants["), "{err}");
}
