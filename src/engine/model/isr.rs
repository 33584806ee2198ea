//! Kafka's ISR shrinking and expanding: a follower that stops fetching
//! (`stall_follower`) holds the high watermark back while it is still in the
//! ISR, falls out of it after `replica_lag_max`, and re-joins once it has
//! caught up.
//!
//!   StallFollower ──► FollowerStalled; in the ISR, lagging: the high watermark waits for it
//!        │                (acks=all batches wait too)
//!        ├─ replica_lag_max later, still stalled, and behind the log end ──► IsrShrunk: the high watermark and acks=all
//!        │       count only the rest of the ISR (fewer than min_insync: NotEnoughReplicas, retried);
//!        │       nothing appended since the stall: still caught up, checked again every replica_lag_max / 2
//!        └─ stall over ──replica_lag later──► caught up: back in the ISR (IsrExpanded), or,
//!                                             if it never left, it stops holding the high watermark
//!
//! Kafka documentation ("Replication"; broker config `replica.lag.time.max.ms`,
//! default 30 s): "If a follower hasn't sent any fetch requests or hasn't
//! consumed up to the leader's log end offset for at least this time, the
//! leader will remove the follower from isr"; a follower is added back once
//! it has caught up to the leader's log end; the high watermark is the offset
//! every in-sync replica has. Simplifications (README): followers are
//! anonymous (a stall takes one more in-sync follower of the partition; with
//! none left it does nothing); the ISR is checked exactly `replica_lag_max`
//! after the stall begins (Kafka checks periodically); catching up takes
//! `replica_lag` whatever was missed; a follower cannot catch up while its
//! partition is offline (it tries again every `replica_lag`); an unclean
//! election picks a stalled follower first, whose log ends where its stall
//! began. The ISR is a count (`PartRepl::isr`, owned by `replication.rs`);
//! this room keeps the stalls and moves the count through `isr_*` functions.

use super::topic::StreamEvent;
use crate::engine::core::Engine;
use crate::engine::trace::TraceKind;

/// Most stalls one partition tracks at once (more are ignored).
pub const STALLS_PER_PARTITION_MAX: usize = 8;

/// One stalled follower.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stall {
    pub(crate) id: u32,
    /// When it stopped fetching: its log ends at what the leader had then.
    pub(crate) since_us: u64,
    /// Still counted in the ISR (holding the high watermark while stalled).
    pub(crate) in_isr: bool,
    /// The stall is over; it is catching up.
    pub(crate) ended: bool,
}

/// The stalls of one partition, and the high watermark they hold back.
#[derive(Clone, Debug, Default)]
pub(crate) struct IsrPart {
    pub(crate) stalls: Vec<Stall>,
    pub(crate) next_id: u32,
    /// (leader epoch, end offset) the rest of the ISR has while a stalled
    /// in-sync follower holds the high watermark back.
    pub(crate) held: Option<(u32, u64)>,
}

impl IsrPart {
    /// Does a follower still in the ISR lag (stalled, or not caught up yet)?
    fn holds_hw(&self) -> bool {
        self.stalls.iter().any(|s| s.in_isr)
    }
}

impl Engine {
    /// `StallFollower`: one more in-sync follower of `part` (every partition
    /// when `None`) stops fetching for `stall_us`.
    pub(crate) fn stall_follower(&mut self, t: u32, part: Option<u32>, stall_us: u64) {
        let Some(r) = self.cfg.topics[t as usize].replication else {
            return;
        };
        let parts: Vec<u32> = match part {
            Some(p) => vec![p],
            None => (0..self.streams.topics[t as usize].parts.len() as u32).collect(),
        };
        let node = self.streams.topics[t as usize].node;
        for part in parts {
            // The in-sync followers now (crashed replicas and followers out
            // of the ISR are not), less those stalled already.
            let followers = self.streams.topics[t as usize].repl[part as usize]
                .isr
                .saturating_sub(1);
            let st = self.streams.isr.entry((t, part)).or_default();
            let stalled = st.stalls.iter().filter(|s| s.in_isr).count() as u32;
            if stalled >= followers || st.stalls.len() >= STALLS_PER_PARTITION_MAX {
                continue; // no in-sync follower left to stall
            }
            let id = st.next_id;
            st.next_id = st.next_id.wrapping_add(1);
            st.stalls.push(Stall {
                id,
                since_us: self.now.0,
                in_isr: true,
                ended: false,
            });
            self.trace.record(
                self.now,
                TraceKind::FollowerStalled {
                    partition: part,
                    stall_us,
                },
                None,
                node,
            );
            self.schedule_stream(
                self.now.after(r.replica_lag_max_us()),
                StreamEvent::IsrLagCheck { t, part, stall: id },
            );
            self.schedule_stream(
                self.now.after(stall_us),
                StreamEvent::StallEnds { t, part, stall: id },
            );
        }
    }

    fn stall_mut(&mut self, t: u32, part: u32, id: u32) -> Option<&mut Stall> {
        self.streams
            .isr
            .get_mut(&(t, part))?
            .stalls
            .iter_mut()
            .find(|s| s.id == id)
    }

    /// `replica_lag_max` after stall `id` began: still stalled (or still
    /// catching up), the follower leaves the ISR.
    pub(crate) fn on_isr_lag_check(&mut self, t: u32, part: u32, id: u32) {
        let Some(s) = self.stall_mut(t, part, id) else {
            return; // caught up in time
        };
        if !s.in_isr {
            return;
        }
        let since_us = s.since_us;
        // A follower with the leader's whole log is never out of sync
        // (`Replica.isCaughtUp`: "the same leo as the leader"): while nothing
        // was appended since the stall began it stays, and the leader looks
        // again every `replica_lag_max / 2` (its `isr-expiration` task).
        let log = &self.streams.topics[t as usize].parts[part as usize];
        if log
            .records
            .back()
            .is_none_or(|r| log.appended_us(r) <= since_us)
        {
            let lag_max_us = self.cfg.topics[t as usize]
                .replication
                .map_or(30_000_000, |r| r.replica_lag_max_us());
            self.schedule_stream(
                self.now.after((lag_max_us / 2).max(1)),
                StreamEvent::IsrLagCheck { t, part, stall: id },
            );
            return;
        }
        if let Some(s) = self.stall_mut(t, part, id) {
            s.in_isr = false;
        }
        let repl = &mut self.streams.topics[t as usize].repl[part as usize];
        if repl.isr < 2 {
            // No follower counted in the ISR any more (it crashed, or led):
            // nothing to shrink.
            self.isr_release_hw(t, part);
            return;
        }
        repl.isr -= 1;
        let isr = repl.isr;
        let node = self.streams.topics[t as usize].node;
        self.trace.record(
            self.now,
            TraceKind::IsrShrunk {
                partition: part,
                isr,
            },
            None,
            node,
        );
        // Kafka: acks=all requests waiting when the ISR drops below
        // min.insync.replicas fail (NOT_ENOUGH_REPLICAS_AFTER_APPEND) and
        // are retried; the idempotent producer's retry is then a
        // DuplicateSequence, a plain producer's a second append.
        let min_insync = self.cfg.topics[t as usize]
            .replication
            .map_or(1, |r| r.min_insync);
        if isr == 1 && isr >= min_insync {
            self.isr_mark_acked_alone(t, part);
        }
        if isr < min_insync {
            let waiting: Vec<(u64, u32)> = self.streams.topics[t as usize].repl[part as usize]
                .waiting
                .drain(..)
                .collect();
            for (_, id) in waiting {
                if self.streams.tracked.contains_key(&id) {
                    self.retry_after_error(id);
                }
            }
        }
        self.isr_release_hw(t, part);
    }

    /// The ISR just became the leader alone: the `acks=all` batches waiting
    /// for the high watermark are answered with no follower holding them —
    /// mark their records as acknowledged by the leader alone (the ledger's
    /// `acked_lost` if an unclean election cuts them).
    fn isr_mark_acked_alone(&mut self, t: u32, part: u32) {
        let ti = t as usize;
        let spans: Vec<(u64, u64)> = self.streams.topics[ti].repl[part as usize]
            .waiting
            .iter()
            .filter_map(|&(end, id)| {
                let n = self.streams.tracked.get(&id)?.records.len() as u64;
                Some((end.saturating_sub(n), end))
            })
            .collect();
        let log = &mut self.streams.topics[ti].parts[part as usize];
        for r in log.records.iter_mut().rev() {
            if r.offset < log.hw {
                break;
            }
            if spans.iter().any(|&(a, b)| (a..b).contains(&r.offset)) {
                r.set_acks_one(true);
            }
        }
    }

    /// Is the ISR of `part` the leader alone (followers fell out of it, or
    /// crashed)? Then `acks=all` is answered at the leader's append with no
    /// follower holding the batch, and the high watermark follows the log
    /// end (`appended_now`): only an unclean election can lose such records,
    /// and the ledger counts them as acknowledged then.
    pub(crate) fn isr_leader_alone(&self, t: u32, part: u32) -> bool {
        self.streams.topics[t as usize].repl[part as usize].isr == 1
    }

    /// Stall `id` is over: the follower fetches again and has caught up
    /// `replica_lag` later.
    pub(crate) fn on_stall_ends(&mut self, t: u32, part: u32, id: u32) {
        let Some(s) = self.stall_mut(t, part, id) else {
            return;
        };
        s.ended = true;
        self.isr_catch_up_later(t, part, id);
    }

    fn isr_catch_up_later(&mut self, t: u32, part: u32, id: u32) {
        let lag_us = self.cfg.topics[t as usize]
            .replication
            .map_or(1, |r| r.replica_lag.us().max(1));
        self.schedule_stream(
            self.now.after(lag_us),
            StreamEvent::FollowerCaughtUp { t, part, stall: id },
        );
    }

    /// The follower of stall `id` has caught up to the leader's log end: it
    /// stops holding the high watermark, or re-joins the ISR. With the
    /// partition offline there is no leader to catch up with: it tries again.
    pub(crate) fn on_follower_caught_up(&mut self, t: u32, part: u32, id: u32) {
        let Some(s) = self.stall_mut(t, part, id).copied() else {
            return;
        };
        if !s.in_isr && self.partition_offline(t, part) {
            self.isr_catch_up_later(t, part, id);
            return;
        }
        let st = self.streams.isr.get_mut(&(t, part)).expect("stall found");
        st.stalls.retain(|x| x.id != id);
        if s.in_isr {
            self.isr_release_hw(t, part);
            return;
        }
        let others_out = st.stalls.iter().filter(|x| !x.in_isr).count() as u32;
        let ti = t as usize;
        let full = 1 + self.cfg.topics[ti]
            .replication
            .map_or(0, |r| r.in_sync_followers());
        let repl = &mut self.streams.topics[ti].repl[part as usize];
        let cap = full.saturating_sub(repl.down).saturating_sub(others_out);
        repl.isr = (repl.isr + 1).min(cap.max(repl.isr));
        let isr = repl.isr;
        let node = self.streams.topics[ti].node;
        self.trace.record(
            self.now,
            TraceKind::IsrExpanded {
                partition: part,
                isr,
            },
            None,
            node,
        );
    }

    /// Called by `on_replicated` with the end the followers reached: while a
    /// stalled follower is still in the ISR, the high watermark may not pass
    /// it — keep `end` for later and return true.
    pub(crate) fn isr_holds_hw(&mut self, t: u32, part: u32, end: u64) -> bool {
        let Some(st) = self.streams.isr.get_mut(&(t, part)) else {
            return false;
        };
        if !st.holds_hw() {
            return false;
        }
        let epoch = self.streams.topics[t as usize].repl[part as usize].leader_epoch;
        st.held = Some(match st.held {
            Some((e, held)) if e == epoch => (epoch, held.max(end)),
            _ => (epoch, end),
        });
        true
    }

    /// No stalled follower holds the high watermark any more: it moves to
    /// what the rest of the ISR has (answering `acks=all`, waking readers).
    fn isr_release_hw(&mut self, t: u32, part: u32) {
        let Some(st) = self.streams.isr.get_mut(&(t, part)) else {
            return;
        };
        if st.holds_hw() {
            return;
        }
        let Some((epoch, end)) = st.held.take() else {
            return;
        };
        let repl = &mut self.streams.topics[t as usize].repl[part as usize];
        if repl.leader_epoch != epoch {
            return; // a new leader since: its log was cut at the high watermark
        }
        // Handed to `on_replicated` as if the followers had just reported it.
        repl.replicating.push_front(end);
        self.on_replicated(t, part, epoch);
    }

    /// The leader of `part` crashed and an in-sync follower takes over
    /// (`crash_leader`, with `epoch` the new leader epoch): where its log
    /// ends. A caught-up follower is chosen if there is one (Kafka elects
    /// the first live replica of the ISR in assignment order; here the one
    /// that loses least): it has what the rest of the ISR reported while a
    /// stalled follower held the high watermark back (`held`), which stays
    /// held for the new leader. Else a stalled follower leads, with the
    /// high watermark (no in-sync replica has more); its stall is over.
    pub(crate) fn isr_new_leader_end(&mut self, t: u32, part: u32, epoch: u32) -> u64 {
        let hw = self.streams.topics[t as usize].parts[part as usize].hw;
        // The ISR after the crash, leader included.
        let isr = self.streams.topics[t as usize].repl[part as usize].isr;
        let Some(st) = self.streams.isr.get_mut(&(t, part)) else {
            return hw;
        };
        let stalled = st.stalls.iter().filter(|s| s.in_isr).count() as u32;
        // Reported under the crashed leader (the epoch before `epoch`).
        let held = st
            .held
            .take()
            .filter(|&(e, _)| e == epoch.wrapping_sub(1))
            .map(|(_, end)| end);
        if stalled < isr {
            // A caught-up follower leads; the stalled ones still hold the
            // high watermark, now for its log.
            let log_end = self.streams.topics[t as usize].parts[part as usize].end;
            let end = held.unwrap_or(hw).clamp(hw, log_end.max(hw));
            if held.is_some() {
                st.held = Some((epoch, end));
            }
            end
        } else {
            if let Some(k) = st.stalls.iter().position(|s| s.in_isr) {
                st.stalls.remove(k);
            }
            hw
        }
    }

    /// An unclean election on `part`: the new leader is a follower out of the
    /// ISR. A stalled one's log ends where its stall began (returned); its
    /// stall is over, it leads now. None: no stalled follower (the caller
    /// uses `out_of_sync_lag`).
    pub(crate) fn isr_unclean_leader_since(&mut self, t: u32, part: u32) -> Option<u64> {
        let st = self.streams.isr.get_mut(&(t, part))?;
        let k = st.stalls.iter().position(|s| !s.in_isr)?;
        Some(st.stalls.remove(k).since_us)
    }

    /// In-sync replicas of `topic`'s partition `part` now (the leader
    /// included; 0: offline), or None for an unknown topic or partition.
    pub fn partition_isr(&self, topic: &str, part: u32) -> Option<u32> {
        let t = self.cfg.topics.iter().position(|x| x.id == topic)?;
        Some(self.streams.topics[t].repl.get(part as usize)?.isr)
    }

    /// The high watermark of `topic`'s partition `part` now.
    pub fn partition_hw(&self, topic: &str, part: u32) -> Option<u64> {
        let t = self.cfg.topics.iter().position(|x| x.id == topic)?;
        Some(self.streams.topics[t].parts.get(part as usize)?.hw)
    }
}
