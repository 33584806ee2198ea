//! What the app reads of the log-based half: the newest records of each
//! partition (bounded) and each group's lag and rebalances in the time series.

use crate::streams::{group, topic};
use queuelab::engine::view_stream::PARTITION_RECENT_MAX;
use queuelab::engine::{Command, Engine, SimTime};
use queuelab::scenario;

const SLOW: &str = r#"{ "title": "views", "sample_interval": "100ms",
  "producers": [{ "id": "p", "to": "t", "rate": "100/s", "arrival": "constant", "count": 200,
                  "keys": { "round_robin": ["a", "b"] } }],
  "topics": [{ "id": "t", "partitions": 1 }],
  "consumer_groups": [{ "id": "g", "topics": ["t"], "auto_offset_reset": "earliest",
                        "commit": { "after_processing": { "per": "record" } },
                        "service": { "constant": "20ms" } }] }"#;

#[test]
fn a_partition_lists_its_newest_records_with_their_keys() {
    let mut e = Engine::new(scenario::load(SLOW).unwrap(), 1).unwrap();
    e.run_until(SimTime(1_500_000), u64::MAX);
    let t = topic(&e, "t");
    let p = &t.partitions[0];
    assert!(p.log_end > PARTITION_RECENT_MAX as u64);
    assert_eq!(p.recent.len(), PARTITION_RECENT_MAX, "bounded");
    let offsets: Vec<u64> = p.recent.iter().map(|r| r.offset).collect();
    let want: Vec<u64> = (p.log_end - PARTITION_RECENT_MAX as u64..p.log_end).collect();
    assert_eq!(offsets, want, "the newest, oldest first");
    // Keys alternate a, b, a, … in offset order.
    for r in &p.recent {
        let k = if r.offset % 2 == 0 { "a" } else { "b" };
        assert_eq!(r.key.as_deref(), Some(k), "offset {}", r.offset);
    }
    // The report does not carry them.
    let json = serde_json::to_value(&t).unwrap();
    assert!(json["partitions"][0].get("recent").is_none());
}

#[test]
fn the_series_samples_each_groups_lag_and_rebalances() {
    let mut e = Engine::new(scenario::load(SLOW).unwrap(), 1).unwrap();
    e.run_until(SimTime(1_000_000), u64::MAX);
    e.submit(Command::AddMember { group: "g".into() }).unwrap();
    e.run_until(SimTime(2_000_000), u64::MAX);
    let pts = e.series();
    let last = pts.last().unwrap();
    assert_eq!(
        last.group_lag,
        vec![group(&e, "g").lag],
        "sampled at the last point"
    );
    // 100/s in, 50/s out: the lag grows while the producer runs.
    let at = |t_us: u64| pts.iter().find(|p| p.t_us == t_us).unwrap().group_lag[0];
    assert!(at(1_000_000) > at(500_000) && at(500_000) > 0);
    let before = pts
        .iter()
        .find(|p| p.t_us == 1_000_000)
        .unwrap()
        .group_rebalances[0];
    assert_eq!(last.group_rebalances[0], before + 1, "the join's rebalance");
}

#[test]
fn only_the_first_partitions_list_records() {
    use queuelab::engine::view_stream::PARTITIONS_WITH_RECENT_MAX;
    let json = SLOW
        .replace(r#""partitions": 1"#, r#""partitions": 80"#)
        .replace(r#""round_robin": ["a", "b"]"#, r#""random_of_n": 1000"#);
    let mut e = Engine::new(scenario::load(&json).unwrap(), 1).unwrap();
    e.run_until(SimTime(2_500_000), u64::MAX);
    let t = topic(&e, "t");
    let with: Vec<bool> = t.partitions.iter().map(|p| !p.recent.is_empty()).collect();
    assert!(
        with[..PARTITIONS_WITH_RECENT_MAX]
            .iter()
            .filter(|w| **w)
            .count()
            > 40
    );
    assert!(with[PARTITIONS_WITH_RECENT_MAX..].iter().all(|w| !w));
    assert!(t.partitions[PARTITIONS_WITH_RECENT_MAX..]
        .iter()
        .any(|p| p.log_end > 0));
}
