//! Live knobs of the log-based models: a group's assignment strategy, commit
//! policy and `max.poll.records`, a topic producer's `linger`, a topic's
//! partition count (`increase_partitions`: new empty partitions, whose
//! readers rebalance).
//!
//!   Command ──check_stream_knob──► CommandError (nothing changes)
//!           └─apply_stream_knob──► the engine's copy of the scenario
//!                                  (+ a rebalance / auto-commit timers when needed)
//!
//! Each knob rewrites the engine's own configuration, which the group and
//! producer models read at the moment they act, so a change takes effect at
//! the next rebalance (started at once for the strategy), commit, poll or
//! opened batch. Pure functions of the engine state: replaying the command log
//! reproduces them exactly.

use crate::engine::command::CommandError;
use crate::engine::core::{Engine, NodeKind};
use crate::scenario::{self, Command, CommitPolicy};

/// Longest `linger` a knob accepts [µs] (as the scenario format).
const LINGER_US_MAX: u64 = 60_000_000;

impl Engine {
    /// Check one of this module's commands; `Ok` for any other command.
    pub(crate) fn check_stream_knob(&self, cmd: &Command) -> Result<(), CommandError> {
        let err = |s: String| Err(CommandError(s));
        match cmd {
            Command::SetAssignment { group, .. } => {
                self.find(group, NodeKind::Group)?;
            }
            Command::SetCommitPolicy { group, commit } => {
                let g = self.find(group, NodeKind::Group)?;
                let transactional = self.cfg.consumer_groups[g as usize]
                    .output
                    .as_ref()
                    .is_some_and(|o| o.transactional);
                let per_batch = matches!(
                    commit,
                    CommitPolicy::AfterProcessing {
                        per: scenario::CommitPer::Batch
                    }
                );
                if transactional && !per_batch {
                    // The offsets go with the transaction (sendOffsetsToTransaction),
                    // after each poll's batch; any other policy would leave it open.
                    return err(format!(
                        "{group} has a transactional output: its offsets commit with the transaction, so commit stays {{\"after_processing\": {{\"per\": \"batch\"}}}}"
                    ));
                }
                if let CommitPolicy::Auto { interval } = commit {
                    if interval.us() < 1000 {
                        return err("commit.auto.interval must be at least 1ms".into());
                    }
                }
            }
            Command::SetMaxPollRecords {
                group,
                max_poll_records,
            } => {
                self.find(group, NodeKind::Group)?;
                if *max_poll_records == 0 || *max_poll_records > scenario::MAX_POLL_RECORDS_MAX {
                    return err(format!(
                        "max_poll_records must be between 1 and {}",
                        scenario::MAX_POLL_RECORDS_MAX
                    ));
                }
            }
            Command::SetExpectedVersion { group, .. } => {
                let g = self.find(group, NodeKind::Group)?;
                let versioned = self.cfg.consumer_groups[g as usize]
                    .output
                    .as_ref()
                    .is_some_and(|o| o.expected_version.is_some());
                if !versioned {
                    return err(format!(
                        "{group} has no event-store output: set output.expected_version in the scenario so that versions are tracked"
                    ));
                }
            }
            Command::SetLinger { producer, linger } => {
                let p = self.find(producer, NodeKind::Producer)?;
                if self
                    .streams
                    .producers
                    .get(p as usize)
                    .is_none_or(|tp| tp.is_none())
                {
                    return err(format!(
                        "linger applies only to producers that publish to a topic; {producer} does not"
                    ));
                }
                if linger.is_some_and(|d| d.us() > LINGER_US_MAX) {
                    return err("linger must be at most 60s".into());
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Apply one of this module's commands (checked before).
    pub(crate) fn apply_stream_knob(&mut self, cmd: &Command) {
        match cmd {
            Command::SetAssignment { group, assignment } => {
                let Ok(g) = self.find(group, NodeKind::Group) else {
                    return;
                };
                self.cfg.consumer_groups[g as usize].assignment = *assignment;
                // Members rejoin with the new strategy (as after a restart).
                let any = self.streams.groups[g as usize]
                    .members
                    .iter()
                    .any(|m| m.alive && m.in_group && !m.leaving);
                if any {
                    self.start_rebalance(g);
                }
            }
            Command::SetCommitPolicy { group, commit } => {
                let Ok(g) = self.find(group, NodeKind::Group) else {
                    return;
                };
                let was_auto = matches!(
                    self.cfg.consumer_groups[g as usize].commit,
                    CommitPolicy::Auto { .. }
                );
                self.cfg.consumer_groups[g as usize].commit = commit.clone();
                // Auto-commit timers run per member; start them when auto
                // commit is switched on (a running chain picks up a new interval
                // at its next tick, and stops at its next tick when switched off).
                if was_auto && !matches!(commit, CommitPolicy::Auto { .. }) {
                    for mem in &mut self.streams.groups[g as usize].members {
                        mem.auto_commit_due = false;
                    }
                }
                if !was_auto && matches!(commit, CommitPolicy::Auto { .. }) {
                    let n = self.streams.groups[g as usize].members.len() as u32;
                    for m in 0..n {
                        let mem = &self.streams.groups[g as usize].members[m as usize];
                        if mem.alive && mem.in_group {
                            self.schedule_auto_commit(g, m);
                        }
                    }
                }
            }
            Command::SetMaxPollRecords {
                group,
                max_poll_records,
            } => {
                if let Ok(g) = self.find(group, NodeKind::Group) {
                    self.cfg.consumer_groups[g as usize].max_poll_records = *max_poll_records;
                }
            }
            Command::SetExpectedVersion {
                group,
                expected_version,
            } => {
                let Ok(g) = self.find(group, NodeKind::Group) else {
                    return;
                };
                if let Some(out) = self.cfg.consumer_groups[g as usize].output.as_mut() {
                    out.expected_version = Some(*expected_version);
                }
                // Members keep the version they read when they started their
                // record (read in both modes), so a record in service is
                // checked, or counted, against it when its service ends.
                let grp = &mut self.streams.groups[g as usize];
                grp.store_counts_at_switch = (grp.stale_writes, grp.version_conflicts);
            }
            Command::SetLinger { producer, linger } => {
                if let Ok(p) = self.find(producer, NodeKind::Producer) {
                    self.cfg.producers[p as usize].linger = *linger;
                }
            }
            _ => {}
        }
    }
}

impl Engine {
    /// `IncreasePartitions`: new empty partitions; groups rebalance to take them.
    pub(crate) fn increase_partitions(&mut self, t: u32, partitions: u32) {
        let ti = t as usize;
        let now_n = self.streams.topics[ti].parts.len() as u32;
        for _ in now_n..partitions {
            self.streams.topics[ti]
                .parts
                .push(super::topic::PartitionLog::default());
            let isr = 1 + self.cfg.topics[ti]
                .replication
                .map_or(0, |r| r.in_sync_followers());
            self.streams.topics[ti]
                .repl
                .push(super::replication::PartRepl {
                    isr,
                    ..Default::default()
                });
        }
        self.cfg.topics[ti].partitions = partitions.max(now_n);
        for g in self.streams.topics[ti].readers.clone() {
            self.group_partitions_changed(g);
        }
    }
}
