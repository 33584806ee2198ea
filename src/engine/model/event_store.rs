//! An event store on a topic: appends with an expected version (optimistic
//! concurrency), for read-process-write groups whose `output` sets
//! `expected_version`.
//!
//!   start_record ──read_version──► the member remembers the aggregate's version (its key's)
//!   service done ──version_conflict──► version moved on? check on: refused (`version_conflict`),
//!        │                               the member reloads and processes the record again
//!        │                               (past `conflict_retries` reloads: a failed attempt,
//!        │                               handed to the group's `on_failure`)
//!        ▼                               check off: appended anyway, counted (`stale_write`)
//!   record_done ──produce_output──► append_record bumps the aggregate's version
//!
//! The output topic is the store, a record's key its aggregate (stream), and
//! an aggregate's version the number of records ever appended to the topic
//! with its key, by any writer (retention and compaction do not lower it, as
//! an event store's stream revision never goes back). This is the survey's
//! `EventStore.append_events(aggregate_id, events, expected_version)` and
//! EventStoreDB's `expectedRevision`: a writer that decided on version v may
//! append only while the aggregate is still at v; otherwise it reloads the
//! aggregate and decides again. Two writers race for one aggregate only when
//! its commands reach two members at once (commands not partitioned by
//! aggregate); commands keyed by aggregate give each aggregate one writer, and
//! no conflict is possible.
//!
//! Guarantees: with the check on, no append is decided on a stale version
//! (`stale_writes` stays 0, checked after every event by
//! `check_event_stores`); every conflict is traced and counted per group; a
//! record without a key is appended unchecked. Versions are tracked only for
//! topics some group writes with `expected_version` set (no cost elsewhere).
//! Loading an aggregate (`replay_per_event`): a member replays the
//! aggregate's events since its latest snapshot before deciding, and that
//! time adds to its service time; with `snapshot_every` N a snapshot is saved
//! at versions N, 2N, … (`snapshot_saved`), so a load replays fewer than N
//! events; without, every load replays the aggregate's whole history and
//! gets slower as it grows.
//!
//! Exports: `versions_for`, `bump_version`, `read_version`, `replay_us`,
//! `version_conflict`, `note_stale_write`, `maybe_snapshot`,
//! `check_event_stores`. The check can be switched while the group runs
//! (`set_expected_version`, in `stream_knobs.rs`).

use super::group::Fetched;
use crate::engine::core::Engine;
use crate::engine::message::{Sym, NO_SYM};
use crate::engine::trace::TraceKind;

/// Count one append of `key` in a topic's versions (indexed by the key's
/// interned `Sym`: dense, so a vector, not a map).
#[inline]
pub(crate) fn bump_version(versions: &mut Vec<u32>, key: Sym) {
    if key == NO_SYM {
        return;
    }
    let k = key as usize;
    if k >= versions.len() {
        versions.resize(k + 1, 0);
    }
    versions[k] = versions[k].saturating_add(1);
}

impl Engine {
    /// Topics whose versions are tracked: the outputs of groups that set
    /// `expected_version` (called once per topic at build).
    pub(crate) fn versions_for(&self, topic_id: &str) -> Option<Vec<u32>> {
        self.cfg
            .consumer_groups
            .iter()
            .filter_map(|g| g.output.as_ref())
            .any(|o| o.topic == topic_id && o.expected_version.is_some())
            .then(Vec::new)
    }

    /// The group's versioned output: (topic index, check on).
    #[inline]
    fn versioned_output(&self, g: u32) -> Option<(u32, bool)> {
        let out = self.cfg.consumer_groups[g as usize].output.as_ref()?;
        let check = out.expected_version?;
        Some((self.streams.groups[g as usize].output_topic?, check))
    }

    /// Aggregate `key`'s version in topic `t` now (0 for a key never appended).
    fn version_of(&self, t: u32, key: Sym) -> u32 {
        self.streams.topics[t as usize]
            .versions
            .as_ref()
            .and_then(|v| v.get(key as usize).copied())
            .unwrap_or(0)
    }

    /// Member `m` starts its head record: it loads the aggregate and
    /// remembers the version it decides on.
    pub(crate) fn read_version(&mut self, g: u32, m: u32) {
        let Some((t, _)) = self.versioned_output(g) else {
            return;
        };
        let mem = &self.streams.groups[g as usize].members[m as usize];
        let Some(rec) = mem.batch.front() else {
            return;
        };
        let v = if rec.key == NO_SYM {
            0
        } else {
            self.version_of(t, rec.key)
        };
        self.streams.groups[g as usize].members[m as usize].read_version = v;
    }

    /// With the check on: member `m` is about to append the output of `rec`;
    /// if the aggregate moved on since it read it, the append is refused,
    /// traced and counted, and the member processes the record again (a
    /// fresh read, a fresh service time). Answers true when refused.
    pub(crate) fn version_conflict(&mut self, g: u32, m: u32, rec: Fetched) -> bool {
        let Some((t, true)) = self.versioned_output(g) else {
            return false;
        };
        if rec.key == NO_SYM {
            return false;
        }
        let actual = self.version_of(t, rec.key);
        let grp = &mut self.streams.groups[g as usize];
        let expected = grp.members[m as usize].read_version;
        if actual == expected {
            return false;
        }
        grp.version_conflicts += 1;
        let node = grp.node;
        let mem = &mut grp.members[m as usize];
        mem.busy = false;
        // Reloads left in this attempt (`output.conflict_retries`).
        let give_up = self.cfg.consumer_groups[g as usize]
            .output
            .as_ref()
            .and_then(|o| o.conflict_retries)
            .is_some_and(|n| mem.conflicts >= n);
        mem.conflicts += 1;
        self.trace.record(
            self.now,
            TraceKind::VersionConflict {
                member: m,
                expected,
                actual,
            },
            Some(rec.msg),
            node,
        );
        if give_up {
            grp.conflict_give_ups += 1;
            self.attempt_failed(g, m, rec);
        } else {
            self.start_record(g, m);
        }
        true
    }

    /// With the check off: an output appended on a version that moved on is
    /// counted and traced (called before the append).
    pub(crate) fn note_stale_write(&mut self, g: u32, m: u32, rec: Fetched) {
        let Some((t, false)) = self.versioned_output(g) else {
            return;
        };
        if rec.key == NO_SYM {
            return;
        }
        let actual = self.version_of(t, rec.key);
        let grp = &mut self.streams.groups[g as usize];
        let read = grp.members[m as usize].read_version;
        if actual == read {
            return;
        }
        grp.stale_writes += 1;
        let node = grp.node;
        self.trace.record(
            self.now,
            TraceKind::StaleWrite {
                member: m,
                read,
                actual,
            },
            Some(rec.msg),
            node,
        );
    }

    /// The time member `m` spends loading its head record's aggregate before
    /// deciding: the events since the latest snapshot at or below the version
    /// it read, each `replay_per_event` (0 without an event-store output, a
    /// key or a replay cost). Counts the load and the events replayed.
    pub(crate) fn replay_us(&mut self, g: u32, m: u32) -> u64 {
        let Some(out) = self.cfg.consumer_groups[g as usize].output.as_ref() else {
            return 0;
        };
        let (Some(per), Some(_)) = (out.replay_per_event, out.expected_version) else {
            return 0;
        };
        let every = out.snapshot_every.unwrap_or(0) as u64;
        let grp = &mut self.streams.groups[g as usize];
        let mem = &grp.members[m as usize];
        if mem.batch.front().is_none_or(|r| r.key == NO_SYM) {
            return 0;
        }
        let v = mem.read_version as u64;
        let events = if every > 0 { v % every } else { v };
        grp.loads += 1;
        grp.events_replayed += events;
        events.saturating_mul(per.us())
    }

    /// After member `m` appended `rec`'s output to topic `t`: a snapshot is
    /// saved when the aggregate's version is now a multiple of `snapshot_every`.
    pub(crate) fn maybe_snapshot(&mut self, g: u32, m: u32, t: u32, rec: Fetched) {
        let Some(every) = self.cfg.consumer_groups[g as usize]
            .output
            .as_ref()
            .and_then(|o| o.snapshot_every)
        else {
            return;
        };
        if rec.key == NO_SYM {
            return;
        }
        let version = self.version_of(t, rec.key);
        if version == 0 || version % every != 0 {
            return;
        }
        let grp = &mut self.streams.groups[g as usize];
        grp.snapshots += 1;
        let node = grp.node;
        self.trace.record(
            self.now,
            TraceKind::SnapshotSaved { member: m, version },
            Some(rec.msg),
            node,
        );
    }

    /// Invariant: a group that appends with the check on never wrote on a
    /// stale version (none since `set_expected_version` last switched it
    /// on), one with the check off never had an append refused (none since
    /// it was switched off), and a group without tracking counts neither.
    pub(crate) fn check_event_stores(&self) -> Result<(), String> {
        for (gi, grp) in self.streams.groups.iter().enumerate() {
            let check = self.cfg.consumer_groups[gi]
                .output
                .as_ref()
                .and_then(|o| o.expected_version);
            let (stale_at, conflicts_at) = grp.store_counts_at_switch;
            if check != Some(false) && grp.stale_writes > stale_at {
                return Err(format!(
                    "group {}: {} stale writes with expected_version {check:?}",
                    self.cfg.consumer_groups[gi].id,
                    grp.stale_writes - stale_at
                ));
            }
            if check != Some(true) && grp.version_conflicts > conflicts_at {
                return Err(format!(
                    "group {}: version conflicts without the check",
                    self.cfg.consumer_groups[gi].id
                ));
            }
        }
        Ok(())
    }
}
