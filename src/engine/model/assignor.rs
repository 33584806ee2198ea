//! Consumer-group partition assignment: Kafka's three built-in strategies as pure functions.
//!
//!   members (sorted) + topics (partitions) [+ who owns what now] ──assign──► member → [TopicPartition]
//!
//! No engine state, no randomness, no events: `group.rs` calls these at each rebalance.
//! Every member of a group here subscribes to the same topics (the scenario lists topics
//! per group), which is the case Kafka's sticky assignor handles with its
//! "constrained" builder.
//!
//! Facts (not code) from Apache Kafka `clients/src/main/java/org/apache/kafka/clients/consumer/`:
//! - `RangeAssignor`: per topic, partitions in numeric order, consumers in member-id
//!   order; each gets `P / C`, the first `P % C` one more, as contiguous ranges.
//! - `RoundRobinAssignor`: all partitions sorted by topic then partition, dealt to the
//!   consumers (member-id order) in turn.
//! - `CooperativeStickyAssignor` / `internals/AbstractStickyAssignor.java`
//!   (`ConstrainedAssignmentBuilder`): quotas `min = floor(P/C)`, `max = ceil(P/C)`,
//!   `P % C` members may hold `max`. Each member first keeps its owned partitions
//!   (sorted by partition number, then topic) up to its quota; the rest are
//!   revoked. Unassigned partitions (sorted by topic, then partition) go round-robin
//!   to members below `min` (sorted), then to members at exactly `min` while
//!   members with `max` are still allowed. The cooperative protocol then revokes
//!   moved partitions in a first round and assigns them in a second.
//!
//! Member ids: Kafka orders members by their (broker-generated) `member.id` strings;
//! here a member's id is its number, given in join order, so "sorted" means join order.
//! Where Kafka walks members in a Java hash map's order (the sticky builder's "keep what you
//! own" pass, which decides who may keep `max` partitions when several could), this
//! walks them in id order, so the result is deterministic.

use std::collections::BTreeMap;

/// A partition of one of the group's topics: (topic index, partition).
pub type TopicPartition = (u32, u32);

/// A member → partitions map (members with nothing get an empty list).
pub type Assignment = BTreeMap<u32, Vec<TopicPartition>>;

/// Topics as the assignors see them: name (for Kafka's ordering) and partition count,
/// indexed by topic index.
#[derive(Clone, Debug)]
pub struct TopicsView<'a> {
    pub names: &'a [&'a str],
    pub partitions: &'a [u32],
}

impl TopicsView<'_> {
    /// Topic indices in name order.
    fn by_name(&self) -> Vec<u32> {
        let mut t: Vec<u32> = (0..self.names.len() as u32).collect();
        crate::small_sort::sort_by(&mut t, |&a, &b| {
            self.names[a as usize]
                .cmp(self.names[b as usize])
                .then(a.cmp(&b))
        });
        t
    }
    /// Every partition, sorted by topic name then partition number.
    fn all_sorted(&self) -> Vec<TopicPartition> {
        let mut out = Vec::new();
        for t in self.by_name() {
            for p in 0..self.partitions[t as usize] {
                out.push((t, p));
            }
        }
        out
    }
    fn total(&self) -> usize {
        self.partitions.iter().map(|&p| p as usize).sum()
    }
}

fn empty(members: &[u32]) -> Assignment {
    members.iter().map(|&m| (m, Vec::new())).collect()
}

fn sorted(members: &[u32]) -> Vec<u32> {
    let mut m = members.to_vec();
    crate::small_sort::sort(&mut m);
    m.dedup();
    m
}

/// Kafka's `RangeAssignor`.
pub fn range(members: &[u32], topics: &TopicsView) -> Assignment {
    let members = sorted(members);
    let mut out = empty(&members);
    if members.is_empty() {
        return out;
    }
    let c = members.len() as u32;
    for t in topics.by_name() {
        let n = topics.partitions[t as usize];
        let per = n / c;
        let extra = n % c;
        for (i, m) in members.iter().enumerate() {
            let i = i as u32;
            let start = per * i + i.min(extra);
            let len = per + u32::from(i < extra);
            let list = out.get_mut(m).expect("every member has a list");
            list.extend((start..start + len).map(|p| (t, p)));
        }
    }
    out
}

/// Kafka's `RoundRobinAssignor` (every member subscribes to every topic).
pub fn round_robin(members: &[u32], topics: &TopicsView) -> Assignment {
    let members = sorted(members);
    let mut out = empty(&members);
    if members.is_empty() {
        return out;
    }
    for (k, tp) in topics.all_sorted().into_iter().enumerate() {
        let m = members[k % members.len()];
        out.get_mut(&m).expect("every member has a list").push(tp);
    }
    out
}

/// Kafka's `CooperativeStickyAssignor` target assignment (the constrained builder),
/// given what each member owns now. Owned partitions that no longer exist, or are
/// claimed by two members, are ignored.
pub fn cooperative_sticky(
    members: &[u32],
    topics: &TopicsView,
    owned: &BTreeMap<u32, Vec<TopicPartition>>,
) -> Assignment {
    let members = sorted(members);
    let mut out = empty(&members);
    if members.is_empty() {
        return out;
    }
    let total = topics.total();
    let c = members.len();
    let min_quota = total / c;
    let max_quota = total.div_ceil(c);
    let expected_over = total % c;
    let mut current_over = 0usize;
    let exists = |&(t, p): &TopicPartition| {
        (t as usize) < topics.partitions.len() && p < topics.partitions[t as usize]
    };
    // Partitions claimed by more than one member are nobody's.
    let mut claims: BTreeMap<TopicPartition, u32> = BTreeMap::new();
    for m in &members {
        for tp in owned.get(m).into_iter().flatten() {
            *claims.entry(*tp).or_default() += 1;
        }
    }
    let mut under_min: Vec<u32> = Vec::new();
    let mut exactly_min: Vec<u32> = Vec::new();
    let mut assigned: Vec<TopicPartition> = Vec::new();
    for &m in &members {
        let mut mine: Vec<TopicPartition> = owned
            .get(&m)
            .into_iter()
            .flatten()
            .copied()
            .filter(|tp| exists(tp) && claims.get(tp) == Some(&1))
            .collect();
        crate::small_sort::sort_by(&mut mine, |a, b| {
            a.1.cmp(&b.1)
                .then(topics.names[a.0 as usize].cmp(topics.names[b.0 as usize]))
        });
        mine.dedup();
        let list = out.get_mut(&m).expect("every member has a list");
        if mine.len() < min_quota {
            list.extend(&mine);
            assigned.extend(&mine);
            under_min.push(m);
        } else if mine.len() >= max_quota && current_over < expected_over {
            current_over += 1;
            if current_over == expected_over {
                exactly_min.clear();
            }
            list.extend(&mine[..max_quota]);
            assigned.extend(&mine[..max_quota]);
        } else {
            list.extend(&mine[..min_quota]);
            assigned.extend(&mine[..min_quota]);
            if current_over < expected_over {
                exactly_min.push(m);
            }
        }
    }
    let taken: std::collections::BTreeSet<TopicPartition> = assigned.into_iter().collect();
    let unassigned: Vec<TopicPartition> = topics
        .all_sorted()
        .into_iter()
        .filter(|tp| !taken.contains(tp))
        .collect();
    crate::small_sort::sort(&mut under_min);
    crate::small_sort::sort(&mut exactly_min);
    // Round-robin over the members below min quota; when they are all full,
    // members at exactly min take one more each (first come, first served).
    let mut cursor = 0usize;
    for tp in unassigned {
        let m = if cursor < under_min.len() {
            let m = under_min[cursor];
            cursor += 1;
            m
        } else if under_min.is_empty() {
            if exactly_min.is_empty() {
                // Kafka throws here; with consistent quotas it cannot happen.
                break;
            }
            exactly_min.remove(0)
        } else {
            cursor = 1;
            under_min[0]
        };
        let list = out.get_mut(&m).expect("every member has a list");
        list.push(tp);
        let count = list.len();
        // (Kafka also counts members reaching max quota here, for a log line only.)
        if count == min_quota {
            // Leaves the below-min list (it was the one just taken by the cursor).
            if let Some(pos) = under_min.iter().position(|&x| x == m) {
                under_min.remove(pos);
                if pos < cursor {
                    cursor -= 1;
                }
            }
            exactly_min.push(m);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view<'a>(names: &'a [&'a str], parts: &'a [u32]) -> TopicsView<'a> {
        TopicsView {
            names,
            partitions: parts,
        }
    }

    /// The example in `RangeAssignor`'s Javadoc: C0, C1; t0, t1 with 3 partitions each.
    #[test]
    fn range_matches_kafka_javadoc() {
        let a = range(&[0, 1], &view(&["t0", "t1"], &[3, 3]));
        assert_eq!(a[&0], vec![(0, 0), (0, 1), (1, 0), (1, 1)]);
        assert_eq!(a[&1], vec![(0, 2), (1, 2)]);
    }

    /// The example in `RoundRobinAssignor`'s Javadoc.
    #[test]
    fn round_robin_matches_kafka_javadoc() {
        let a = round_robin(&[0, 1], &view(&["t0", "t1"], &[3, 3]));
        assert_eq!(a[&0], vec![(0, 0), (0, 2), (1, 1)]);
        assert_eq!(a[&1], vec![(0, 1), (1, 0), (1, 2)]);
    }

    #[test]
    fn extra_members_get_nothing() {
        let a = range(&[0, 1, 2, 3], &view(&["t"], &[3]));
        assert_eq!(a[&3], vec![]);
        let s = cooperative_sticky(&[0, 1, 2, 3], &view(&["t"], &[3]), &BTreeMap::new());
        assert_eq!(s.values().filter(|v| v.is_empty()).count(), 1);
    }

    #[test]
    fn sticky_from_scratch_deals_in_turn() {
        let a = cooperative_sticky(&[0, 1, 2], &view(&["t"], &[7]), &BTreeMap::new());
        assert_eq!(a[&0], vec![(0, 0), (0, 3), (0, 6)]);
        assert_eq!(a[&1], vec![(0, 1), (0, 4)]);
        assert_eq!(a[&2], vec![(0, 2), (0, 5)]);
    }

    #[test]
    fn sticky_moves_only_what_it_must() {
        // 6 partitions on 2 members, then a third joins: it takes one from each.
        let owned = BTreeMap::from([
            (0, vec![(0, 0), (0, 1), (0, 2)]),
            (1, vec![(0, 3), (0, 4), (0, 5)]),
        ]);
        let a = cooperative_sticky(&[0, 1, 2], &view(&["t"], &[6]), &owned);
        assert_eq!(a[&0], vec![(0, 0), (0, 1)]);
        assert_eq!(a[&1], vec![(0, 3), (0, 4)]);
        assert_eq!(a[&2], vec![(0, 2), (0, 5)]);
        // A member leaves: its partitions spread, nobody else loses one.
        let owned = a.clone();
        let mut owned_left = owned.clone();
        owned_left.remove(&1);
        let b = cooperative_sticky(&[0, 2], &view(&["t"], &[6]), &owned_left);
        assert!(owned[&0].iter().all(|tp| b[&0].contains(tp)));
        assert!(owned[&2].iter().all(|tp| b[&2].contains(tp)));
        assert_eq!(b[&0].len() + b[&2].len(), 6);
    }
}
