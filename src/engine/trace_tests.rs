//! Tests of the trace log: the hash sees every field and the order, not
//! the capture; codes per family; a known trace's hash is pinned.

use super::*;

#[test]
fn hash_does_not_depend_on_capture() {
    let mut a = TraceLog::new();
    let mut b = TraceLog::new();
    b.set_capture(true, 2);
    for i in 0..5 {
        let k = TraceKind::Enqueued { depth: i };
        a.record(SimTime(i as u64), k, Some(i as u64), NodeId(1));
        b.record(SimTime(i as u64), k, Some(i as u64), NodeId(1));
    }
    assert_eq!(a.hash(), b.hash());
    assert_eq!(b.stored().len(), 2, "bounded buffer");
    assert_eq!(b.overwritten(), 3);
    // With a sink, a full buffer is drained instead: nothing is lost.
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s2 = seen.clone();
    let mut c = TraceLog::new();
    c.set_capture(true, 2);
    c.set_sink(Some(Rc::new(RefCell::new(
        move |buf: &mut VecDeque<TraceEvent>| s2.borrow_mut().extend(buf.drain(..)),
    ))));
    for i in 0..5 {
        let k = TraceKind::Enqueued { depth: i };
        c.record(SimTime(i as u64), k, Some(i as u64), NodeId(1));
    }
    assert_eq!(c.overwritten(), 0);
    let mut all: Vec<u64> = seen.borrow().iter().map(|e| e.seq).collect();
    all.extend(c.take().iter().map(|e| e.seq));
    assert_eq!(all, [0, 1, 2, 3, 4], "every event once, in order");
    assert_eq!(c.hash(), a.hash());
}

#[test]
fn hash_sees_every_field() {
    let base = |kind, msg, node, t| {
        let mut l = TraceLog::new();
        l.record(SimTime(t), kind, msg, NodeId(node));
        l.hash()
    };
    let k = TraceKind::Acked { instance: 0 };
    let h0 = base(k, Some(1), 1, 1);
    assert_ne!(h0, base(TraceKind::Acked { instance: 1 }, Some(1), 1, 1));
    assert_ne!(h0, base(k, Some(2), 1, 1));
    assert_ne!(h0, base(k, None, 1, 1));
    assert_ne!(h0, base(k, Some(1), 2, 1));
    assert_ne!(h0, base(k, Some(1), 1, 2));
    assert_eq!(TraceKind::NAMES.len(), 108);
    // Fields sharing a word stay apart.
    let d = |consumer, instance, attempt, redelivered| TraceKind::Delivered {
        consumer: NodeId(consumer),
        instance,
        attempt,
        redelivered,
    };
    let hd = base(d(1, 2, 3, false), Some(1), 1, 1);
    assert_ne!(hd, base(d(2, 1, 3, false), Some(1), 1, 1));
    assert_ne!(hd, base(d(1, 2, 3, true), Some(1), 1, 1));
    assert_ne!(hd, base(d(1, 2, 4, false), Some(1), 1, 1));
    assert_ne!(hd, base(d(1, 3, 3, false), Some(1), 1, 1));
    // Same fields, different kinds.
    assert_ne!(
        base(TraceKind::Enqueued { depth: 1 }, Some(1), 1, 1),
        base(TraceKind::Requeued { depth: 1 }, Some(1), 1, 1)
    );
}

#[test]
fn redis_kinds_use_codes_60_to_79_and_hash_their_fields() {
    let kinds = [
        TraceKind::PubsubPublished {
            receivers: 1,
            missed: 0,
        },
        TraceKind::PubsubBuffered {
            pattern: false,
            bytes: 10,
            buffer_bytes: 10,
        },
        TraceKind::PubsubMissed,
        TraceKind::SubscriberDisconnected {
            cause: DisconnectCause::HardLimit,
            lost: 1,
            buffer_bytes: 5,
        },
        TraceKind::SubscriberReconnected,
        TraceKind::XAdded {
            ms: 1,
            seq: 0,
            length: 1,
        },
        TraceKind::XTrimmed {
            count: 1,
            length: 1,
        },
        TraceKind::XDelivered {
            consumer: 0,
            ms: 1,
            seq: 0,
            deliveries: 1,
        },
        TraceKind::XAcked {
            consumer: 0,
            ms: 1,
            seq: 0,
            acked: true,
        },
        TraceKind::XClaimed {
            consumer: 1,
            from: 0,
            ms: 1,
            seq: 0,
            idle_us: 5,
        },
        TraceKind::XClaimDeleted {
            consumer: 0,
            ms: 1,
            seq: 0,
        },
        TraceKind::XConsumerCrashed {
            consumer: 0,
            pending: 1,
        },
        TraceKind::XConsumerRestarted { consumer: 0 },
    ];
    let mut codes: Vec<u64> = kinds.iter().map(|k| k.fields().0).collect();
    assert!(codes.iter().all(|c| (60..=79).contains(c)));
    codes.dedup();
    assert_eq!(codes.len(), kinds.len());
    for k in kinds {
        assert!(TraceKind::NAMES.contains(&k.name()));
    }
    let h = |k: TraceKind| k.fields();
    let id = |ms, seq| TraceKind::XAdded { ms, seq, length: 1 };
    assert_ne!(h(id(1, 2)), h(id(2, 1)));
    let claim = |consumer, from, idle_us| TraceKind::XClaimed {
        consumer,
        from,
        ms: 7,
        seq: 0,
        idle_us,
    };
    assert_ne!(h(claim(1, 0, 5)), h(claim(0, 1, 5)));
    assert_ne!(h(claim(1, 0, 5)), h(claim(1, 0, 6)));
    let cut = |cause| TraceKind::SubscriberDisconnected {
        cause,
        lost: 1,
        buffer_bytes: 5,
    };
    assert_ne!(
        h(cut(DisconnectCause::HardLimit)),
        h(cut(DisconnectCause::SoftLimit))
    );
}

#[test]
fn hash_depends_on_order() {
    let e1 = (
        SimTime(1),
        TraceKind::Acked { instance: 0 },
        Some(1),
        NodeId(1),
    );
    let e2 = (
        SimTime(1),
        TraceKind::Acked { instance: 0 },
        Some(2),
        NodeId(1),
    );
    let mut a = TraceLog::new();
    let mut b = TraceLog::new();
    for (t, k, m, n) in [e1, e2] {
        a.record(t, k, m, n);
    }
    for (t, k, m, n) in [e2, e1] {
        b.record(t, k, m, n);
    }
    assert_ne!(a.hash(), b.hash());
}

#[test]
fn hash_of_a_known_trace_is_pinned() {
    // The function itself, pinned independently of the engine: the same
    // value natively and in wasm (tests/web.rs checks the presets).
    let mut l = TraceLog::new();
    l.record(
        SimTime(0),
        TraceKind::Published {
            to: NodeId(2),
            parent: None,
        },
        Some(1),
        NodeId(0),
    );
    l.record(
        SimTime(0),
        TraceKind::Enqueued { depth: 1 },
        Some(1),
        NodeId(2),
    );
    l.record(SimTime(7), TraceKind::Expired, None, NodeId(2));
    assert_eq!(l.count(), 3);
    assert_eq!(format!("{:016x}", l.hash()), "5a2cf45d7be1589d");
}

/// Every kind's name is in `NAMES` (the UI's event filter lists `NAMES`):
/// read from the source of `TraceKind::name`, so a new kind cannot be left
/// out of the filter (`sqs_visibility_refused` was).
#[test]
fn names_lists_every_kind() {
    let src = include_str!("trace_codes.rs");
    let body = &src[src.find("pub fn name").unwrap()..src.find("pub const NAMES").unwrap()];
    let mut seen = 0;
    for part in body.split("=> \"").skip(1) {
        let name = &part[..part.find('"').unwrap()];
        assert!(
            TraceKind::NAMES.contains(&name),
            "{name} missing from TraceKind::NAMES"
        );
        seen += 1;
    }
    assert_eq!(seen, TraceKind::NAMES.len());
}

/// No two kinds share a hash code (read from the source of
/// `TraceKind::fields`): a shared code lets two different events hash alike
/// when their fields coincide (`ack_timed_out` once took Pulsar's 121).
#[test]
fn every_kind_has_its_own_code() {
    let src = include_str!("trace_codes.rs");
    let start = src.find("pub(crate) fn fields").unwrap();
    let body = &src[start..];
    let body = &body[..body.find("\n    }\n").unwrap()];
    let mut codes: Vec<u32> = Vec::new();
    for line in body.lines() {
        let t = line.trim_start();
        let t = t
            .strip_prefix("} => ")
            .or_else(|| t.split_once("=> ").map(|x| x.1))
            .unwrap_or(t);
        if let Some(rest) = t.strip_prefix('(') {
            if let Some((n, _)) = rest.split_once(',') {
                if let Ok(code) = n.trim().parse::<u32>() {
                    codes.push(code);
                }
            }
        }
    }
    assert!(
        codes.len() + 10 >= TraceKind::NAMES.len(),
        "the scan found {} codes for {} kinds",
        codes.len(),
        TraceKind::NAMES.len()
    );
    let mut sorted = codes.clone();
    sorted.sort_unstable();
    let dups: Vec<u32> = sorted
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0])
        .collect();
    assert!(dups.is_empty(), "codes used twice: {dups:?}");
}

#[test]
fn alert_kinds_use_codes_116_and_117_and_hash_their_fields() {
    let fired = TraceKind::AlertFired {
        alert: 1,
        value_milli: 139,
    };
    let resolved = TraceKind::AlertResolved {
        alert: 1,
        value_milli: 139,
    };
    assert_eq!(fired.fields(), (116, 1, 139));
    assert_eq!(resolved.fields(), (117, 1, 139));
    assert_eq!(
        (fired.name(), resolved.name()),
        ("alert_fired", "alert_resolved")
    );
    let h = |k| {
        let mut l = TraceLog::new();
        l.record(SimTime(1), k, None, NodeId(0));
        l.hash()
    };
    assert_ne!(h(fired), h(resolved));
    assert_ne!(
        h(fired),
        h(TraceKind::AlertFired {
            alert: 0,
            value_milli: 139
        })
    );
    assert_ne!(
        h(fired),
        h(TraceKind::AlertFired {
            alert: 1,
            value_milli: 140
        })
    );
}
