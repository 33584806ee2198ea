//! Transactions into a replicated topic, told as stories: a `read_committed`
//! reader sees a committed transaction only once its marker is below the
//! high watermark (Kafka's last stable offset counts a transaction unstable
//! until its marker is replicated), while a `read_uncommitted` reader reads
//! each record as soon as the high watermark passes it; a leader crash that
//! cuts a marker has it written again to the new leader, so readers are not
//! stuck at the transaction. Invariants are checked after every event.

use crate::common::{engine, run_checked};
use queuelab::engine::{Command, Engine, NodeId, TraceEvent, TraceKind};
use queuelab::scenario::Duration;
use serde_json::json;

/// Bursts of 4 orders every 10 s → `enricher` (500 ms per record, 4 per
/// poll) writes each as a transactional output to `enriched` (factor 3,
/// followers 2 s behind), read by `billing` (read_committed) and `audit`
/// (read_uncommitted).
fn world() -> Engine {
    let s = json!({
        "title": "lso", "duration": "30s",
        "producers": [{"id": "src", "to": "orders", "rate": "0.4/s",
            "arrival": {"bursts": {"size": 4}}, "keys": {"random_of_n": 1}}],
        "topics": [{"id": "orders", "partitions": 1},
            {"id": "enriched", "partitions": 1,
             "replication": {"factor": 3, "replica_lag": "2s"}}],
        "consumer_groups": [
            {"id": "enricher", "topics": ["orders"], "members": 1, "max_poll_records": 4,
             "auto_offset_reset": "earliest", "service": {"constant": "500ms"},
             "commit": {"after_processing": {"per": "batch"}},
             "output": {"topic": "enriched", "transactional": true}},
            {"id": "billing", "topics": ["enriched"], "members": 1,
             "auto_offset_reset": "earliest", "isolation_level": "read_committed",
             "service": {"constant": "1ms"}},
            {"id": "audit", "topics": ["enriched"], "members": 1,
             "auto_offset_reset": "earliest", "service": {"constant": "1ms"}}]
    })
    .to_string();
    engine(&s, 1)
}

/// (time, first offset, count) of every fetch of group `node` from `enriched`.
fn fetches(e: &Engine, trace: &[TraceEvent], node: &str) -> Vec<(u64, u64, u32)> {
    let id = NodeId(e.nodes().iter().position(|n| n.id == node).unwrap() as u32);
    trace
        .iter()
        .filter(|ev| ev.node == id)
        .filter_map(|ev| match ev.kind {
            TraceKind::Fetched { from, count, .. } => Some((ev.t.0, from, count)),
            _ => None,
        })
        .collect()
}

#[test]
fn read_committed_waits_for_the_marker_to_be_below_the_high_watermark() {
    let mut e = world();
    run_checked(&mut e, 16_000_000);
    let trace = e.take_trace();
    // The first poll's transaction: output at offset 0 (10.5 s), its marker
    // at 1; both replicated at 12.5 s. The second: outputs at 2, 3, 4
    // (11.0, 11.5, 12.0 s), committed at 12.0 s with its marker at 5.
    // read_uncommitted reads each output as the high watermark passes it.
    assert_eq!(
        fetches(&e, &trace, "audit"),
        vec![
            (12_500_000, 0, 1),
            (13_000_000, 2, 1),
            (13_500_000, 3, 1),
            (14_000_000, 4, 1)
        ]
    );
    // read_committed: the transaction is stable only once its marker (5) is
    // replicated at 14.0 s, though offsets 2 and 3 were below the high
    // watermark (and the transaction committed) earlier.
    assert_eq!(
        fetches(&e, &trace, "billing"),
        vec![(12_500_000, 0, 1), (14_000_000, 2, 3)]
    );
}

#[test]
fn a_marker_cut_by_a_leader_crash_is_written_again_and_read_committed_goes_on() {
    let mut e = world();
    run_checked(&mut e, 13_600_000);
    // The high watermark is 4: the crash cuts output 4 and the marker (5).
    e.submit(Command::CrashLeader {
        topic: "enriched".into(),
        partition: Some(0),
        restart_after: Some(Duration::from_s(1)),
    })
    .unwrap();
    run_checked(&mut e, 30_000_000);
    let trace = e.take_trace();
    let truncated = trace.iter().find_map(|ev| match ev.kind {
        TraceKind::LeaderCrashed { truncated, .. } => Some(truncated),
        _ => None,
    });
    assert_eq!(truncated, Some(2));
    // The coordinator writes the marker again at the new log end (4): it is
    // replicated 2 s later, and billing reads outputs 2 and 3 then; the next
    // transaction (offsets 5.., from the burst at 20 s) follows as usual.
    let billing = fetches(&e, &trace, "billing");
    assert_eq!(
        billing[..2],
        [(12_500_000, 0, 1), (15_600_000, 2, 2)],
        "{billing:?}"
    );
    assert!(
        billing.len() >= 4
            && billing[2..]
                .iter()
                .all(|&(t, from, _)| t > 20_000_000 && from >= 5),
        "{billing:?}"
    );
}
