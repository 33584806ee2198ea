//! Kafka's partition leader crash and return: which replica leads next,
//! where its log ends, and what that cut removes.
//!
//!   CrashLeader ──► an in-sync follower leads with [start, hw) (or more, while a stalled
//!                   follower holds the high watermark back: `isr.rs`) ──► cut_log
//!               ──► none in sync: unclean election? a live out-of-sync replica leads
//!                   with its older log; else the partition is offline
//!   LeaderBack  ──► offline and unclean: the first replica back leads with the log it had
//!               ──► else it rejoins the ISR (or waits for the last in-sync replica)
//!
//! Guarantees: every record a cut removes is counted once in the ledger
//! (`acked_lost` if acknowledged, `unacked_lost` for `acks=0`), readers and
//! commits past the new end start again at it, and a batch whose records were
//! cut is appended again when its producer retries (the new leader rebuilt
//! its producer state from its log). The produce path and the high watermark
//! are in `replication.rs`; a stalled follower in `isr.rs`.

use crate::engine::core::Engine;
use crate::engine::trace::TraceKind;

use super::topic::StreamEvent;

impl Engine {
    /// `CrashLeader`: the leader of `part` (every partition when `None`)
    /// fails. An in-sync follower takes over with the log up to the high
    /// watermark; with none, an out-of-sync one does if unclean election is
    /// on (its log ends `out_of_sync_lag` ago), else the partition is offline
    /// until this replica (the last in-sync one) is back.
    pub(crate) fn crash_leader(
        &mut self,
        t: u32,
        part: Option<u32>,
        restart_after_us: Option<u64>,
    ) {
        let parts: Vec<u32> = match part {
            Some(p) => vec![p],
            None => (0..self.streams.topics[t as usize].parts.len() as u32).collect(),
        };
        let r = self.cfg.topics[t as usize].replication;
        let factor = r.map_or(1, |r| r.factor);
        let unclean = r.is_some_and(|r| r.unclean_election);
        let out_of_sync_lag_us = r
            .and_then(|r| r.out_of_sync_lag)
            .map_or(10_000_000, |d| d.us());
        let node = self.streams.topics[t as usize].node;
        for part in parts {
            let ti = t as usize;
            let repl = &mut self.streams.topics[ti].repl[part as usize];
            if repl.isr == 0 {
                continue; // offline already: no leader to crash
            }
            repl.down += 1;
            repl.leader_epoch = repl.leader_epoch.wrapping_add(1);
            let waiting: Vec<(u64, u32)> = repl.waiting.drain(..).collect();
            repl.replicating.clear();
            let first_down = repl.down == 1;
            let alive = factor.saturating_sub(repl.down);
            // The cut: the new leader has [start, cut).
            let cut = if repl.isr >= 2 {
                repl.isr -= 1;
                // An in-sync follower leads: a caught-up one if there is
                // one, with what the rest of the ISR has (more than the high
                // watermark while a stalled follower holds it back), else a
                // stalled one, with the high watermark (`isr.rs`).
                let epoch = repl.leader_epoch;
                Some(self.isr_new_leader_end(t, part, epoch))
            } else if unclean && alive >= 1 {
                repl.isr = 1;
                let since = self
                    .isr_unclean_leader_since(t, part)
                    .unwrap_or(self.now.0.saturating_sub(out_of_sync_lag_us));
                let log = &self.streams.topics[ti].parts[part as usize];
                let kept = log
                    .records
                    .iter()
                    .take_while(|r| log.appended_us(r) <= since)
                    .count();
                Some(log.records.get(kept).map_or(log.end, |r| r.offset))
            } else {
                repl.isr = 0; // offline until this replica is back
                if !unclean {
                    repl.offline_crash = Some(repl.leader_epoch);
                }
                None
            };
            if first_down {
                self.streams.topics[ti].degraded += 1;
            }
            let truncated = cut.map_or(0, |cut| self.cut_log(t, part, cut));
            let end = self.streams.topics[ti].parts[part as usize].end;
            let repl = &mut self.streams.topics[ti].repl[part as usize];
            let epoch = repl.leader_epoch;
            repl.down_ends.push((epoch, end));
            self.trace.record(
                self.now,
                TraceKind::LeaderCrashed {
                    partition: part,
                    truncated: truncated as u32,
                },
                None,
                node,
            );
            if let Some(cut) = cut {
                self.rewrite_cut_markers(t, part, cut);
            }
            // The acks=all batches it had not answered fail: their producers retry.
            for (_, id) in waiting {
                self.retry_after_error(id);
            }
            if let Some(d) = restart_after_us {
                let epoch = self.streams.topics[ti].repl[part as usize].leader_epoch;
                self.schedule_stream(
                    self.now.after(d),
                    StreamEvent::LeaderBack { t, part, epoch },
                );
            }
        }
    }

    /// The new leader of `part` has its log up to `cut`: every record from
    /// `cut` on is gone (counted in the ledger: acknowledged ones in
    /// `acked_lost`), readers past the new end start again at it, and every
    /// batch the producer still waits to hear about whose records the cut
    /// removed is appended again when retried. Returns the records removed.
    /// The caller writes the transaction markers the cut removed again
    /// (`rewrite_cut_markers`).
    fn cut_log(&mut self, t: u32, part: u32, cut: u64) -> u64 {
        let ti = t as usize;
        let (mut truncated, mut acked_lost, mut unacked_lost) = (0u64, 0u64, 0u64);
        let replicated = self.streams.topics[ti].replicated;
        let log = &mut self.streams.topics[ti].parts[part as usize];
        while log.records.back().is_some_and(|r| r.offset >= cut) {
            let r = log.records.pop_back().expect("checked");
            truncated += 1;
            acked_lost += r.acks_one() as u64;
            unacked_lost += r.acks_zero() as u64;
            log.tombstones -= r.tombstone() as u64;
        }
        let kept = log.txn_markers.partition_point(|m| m.0 < cut);
        log.txn_markers.truncate(kept);
        log.end = cut.max(log.start).min(log.end);
        log.hw = log.hw.min(log.end);
        if !replicated {
            log.hw = log.end;
        }
        let end = log.end;
        self.streams.retained -= truncated;
        let repl = &mut self.streams.topics[ti].repl[part as usize];
        repl.acked_lost += acked_lost;
        repl.unacked_lost += unacked_lost;
        self.clamp_positions(t, part, end);
        // The batches whose records the cut removed (acks=all ones waiting
        // for the high watermark, and any appended one whose answer failed
        // or was lost) are no longer appended: a retry is appended again,
        // not rejected as a duplicate. The new leader rebuilt its producer
        // state from its log (`UnifiedLog.truncateTo` →
        // `rebuildProducerState`), so the sequence it last saw from each
        // producer is the one before the oldest cut batch.
        let repl = &mut self.streams.topics[ti].repl[part as usize];
        for b in self.streams.tracked.values_mut() {
            if (b.t, b.part) == (t, part) && b.appended && b.appended_end > cut {
                b.appended = false;
                let keep = repl.last_seq.get(&b.p).map_or(0, |&l| l.min(b.seq - 1));
                repl.last_seq.insert(b.p, keep);
            }
        }
        truncated
    }

    /// After a truncation to `end`: a group whose position or commit is past
    /// the new log end starts again at it (Kafka: `OffsetOutOfRange`, reset).
    fn clamp_positions(&mut self, t: u32, part: u32, end: u64) {
        for g in 0..self.streams.groups.len() {
            for p in &mut self.streams.groups[g].parts {
                if p.topic == t && p.partition == part {
                    p.position = p.position.min(end);
                    p.committed = p.committed.map(|c| c.min(end));
                    p.processed_high = p.processed_high.min(end);
                    p.out_high = p.out_high.min(end);
                    p.out_committed_high = p.out_committed_high.min(end);
                }
            }
        }
        // The high watermark and commits moved: the groups' lag (`lag.rs`).
        self.refresh_log_lag(t, part);
    }

    /// A crashed replica is back: it leads an offline partition again or
    /// rejoins the ISR. Without unclean election only the last in-sync
    /// replica may lead (its log has everything: nothing lost); with it, the
    /// first one back leads with the log it had when it crashed, and what
    /// was written after that is lost (Kafka, "Unclean leader election":
    /// "the first replica (not necessarily in the ISR) that comes back to
    /// life" is elected).
    pub(crate) fn on_leader_back(&mut self, t: u32, part: u32, epoch: u32) {
        let ti = t as usize;
        let full = 1 + self.cfg.topics[ti]
            .replication
            .map_or(0, |r| r.in_sync_followers());
        let repl = &mut self.streams.topics[ti].repl[part as usize];
        if repl.down == 0 {
            return;
        }
        repl.down -= 1;
        let had_end = repl
            .down_ends
            .iter()
            .position(|&(e, _)| e == epoch)
            .map(|k| repl.down_ends.remove(k).1);
        if repl.isr == 0 && repl.offline_crash.is_none() {
            // Offline under unclean election: this replica leads with its log.
            let end = self.streams.topics[ti].parts[part as usize].end;
            if let Some(cut) = had_end.filter(|&c| c < end) {
                let truncated = self.cut_log(t, part, cut);
                self.rewrite_cut_markers(t, part, cut);
                let node = self.streams.topics[ti].node;
                self.trace.record(
                    self.now,
                    TraceKind::UncleanLeaderBack {
                        partition: part,
                        truncated: truncated as u32,
                    },
                    None,
                    node,
                );
            }
        }
        let repl = &mut self.streams.topics[ti].repl[part as usize];
        if repl.isr == 0 && repl.offline_crash.is_some_and(|e| e != epoch) {
            // Not the last in-sync replica: it lacks what was written after
            // it crashed, so it may not lead; it waits for the one that may.
            repl.back_while_offline += 1;
            return;
        }
        let all_up = repl.down == 0;
        let was_offline = repl.isr == 0;
        let followers = if was_offline {
            repl.offline_crash = None;
            std::mem::take(&mut repl.back_while_offline)
        } else {
            0
        };
        repl.isr = (repl.isr + 1 + followers).min(full);
        if all_up {
            self.streams.topics[ti].degraded -= 1;
        }
        if was_offline {
            self.records_appended(t, part);
        }
    }
}
