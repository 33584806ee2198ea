//! Kafka read-process-write: a group's output records, transactions around
//! them, and what `read_committed` consumers see.
//!
//!   record_done (processed) ──produce_output──► output record (same key) appended
//!        │                                        transactional: open, listed in the member's transaction
//!   batch done ──commit_txn──► offsets committed (as every batch) + outputs committed + a commit marker per partition
//!   member crash ──► the transaction stays open (read_committed readers stop at it) until the new owner
//!                    of its partitions fences it or `transaction_timeout` passes (`txn_fence.rs`), then
//!                    abort_txn: outputs aborted + an abort marker per partition; offsets not committed,
//!                    so the batch is processed again and written again, in a new transaction
//!   any transaction open `transaction_timeout` (a live, paused or crashed member's) is aborted by the
//!                    coordinator; a live member then drops its batch and rejoins (`txn_fence.rs`)
//!   fetch: markers are never returned; read_committed stops at the first open record (the last stable
//!          offset) and skips aborted ones; read_uncommitted returns aborted records too
//!   replicated output partition: a transaction's records stay open until its marker is below the
//!          high watermark (`settle_txns`); a marker a leader crash cut is written again (`rewrite_cut_markers`)
//!
//! Kafka's exactly-once for read-process-write (KIP-98 / KIP-129,
//! `sendOffsetsToTransaction`): the consumed offsets and the produced records
//! commit or abort together, and transaction markers take offsets in the
//! output partitions. Simplifications (README): one transaction per poll's
//! batch (or per `polls_per_txn` batches, `txn_fence.rs`).
//! Counted per group (the ledger's `streams` section): outputs, outputs
//! written again for an input already written (`duplicate_outputs`: what a
//! `read_uncommitted` reader sees twice) and outputs committed again for an
//! input already committed (`duplicate_committed_outputs`: what a
//! `read_committed` reader sees twice), transactions committed and aborted.

use super::group::Fetched;
use super::partitioner::partition_for_key;
use super::topic::Record;
use crate::engine::core::Engine;
use crate::engine::message::NO_SYM;
use crate::engine::trace::TraceKind;

/// `Record::txn` values.
pub(crate) const TXN_NONE: u8 = 0;
pub(crate) const TXN_OPEN: u8 = 1;
pub(crate) const TXN_COMMITTED: u8 = 2;
pub(crate) const TXN_ABORTED: u8 = 3;

/// A transaction ended in a replicated partition whose marker the high
/// watermark has not passed yet (`PartitionLog::unsettled_txns`).
#[derive(Clone, Debug)]
pub(crate) struct UnsettledTxn {
    pub(crate) marker: u64,
    pub(crate) outcome: u8,
    /// Its records' offsets in the partition, in offset order.
    pub(crate) offsets: Vec<u64>,
}

/// One output record in a member's open transaction.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TxnOut {
    pub(crate) t: u32,
    pub(crate) part: u32,
    pub(crate) offset: u64,
    /// The input: group partition and offset.
    pub(crate) gp: u32,
    pub(crate) in_offset: u64,
}

impl Engine {
    /// Member `m` of group `g` processed `rec`: write its output record.
    pub(crate) fn produce_output(&mut self, g: u32, m: u32, rec: Fetched) {
        let Some(t) = self.streams.groups[g as usize].output_topic else {
            return;
        };
        let Some(out) = self.cfg.consumer_groups[g as usize].output.as_ref() else {
            return;
        };
        let (transactional, snapshots) = (out.transactional, out.snapshot_every.is_some());
        if out.expected_version == Some(false) {
            self.note_stale_write(g, m, rec);
        }
        let n = self.streams.topics[t as usize].parts.len() as u32;
        let in_part = self.streams.groups[g as usize].parts[rec.gp as usize].partition;
        let part = if rec.key != NO_SYM {
            partition_for_key(self.syms[rec.key as usize].as_bytes(), n)
        } else {
            in_part % n
        };
        let id = self.next_msg_id;
        self.next_msg_id += 1;
        let (gnode, tnode) = (
            self.streams.groups[g as usize].node,
            self.streams.topics[t as usize].node,
        );
        self.streams.records_published += 1;
        self.totals.published += 1;
        self.trace.record(
            self.now,
            TraceKind::Published {
                to: tnode,
                parent: Some(rec.msg),
            },
            Some(id),
            gnode,
        );
        let mut record = Record::new(rec.key, id, rec.published_us, false);
        record.set_txn(if transactional { TXN_OPEN } else { TXN_NONE });
        self.append_one(t, part, record);
        if snapshots {
            self.maybe_snapshot(g, m, t, rec);
        }
        let offset = self.streams.topics[t as usize].parts[part as usize].end - 1;
        let grp = &mut self.streams.groups[g as usize];
        grp.outputs += 1;
        let p = &mut grp.parts[rec.gp as usize];
        if rec.offset < p.out_high {
            grp.duplicate_outputs += 1;
        } else {
            p.out_high = rec.offset + 1;
        }
        if transactional {
            let mem = &mut grp.members[m as usize];
            let begins = mem.open_txn.is_empty();
            if begins {
                mem.txn.started_us = self.now.us();
                mem.txn.begun = mem.txn.begun.wrapping_add(1);
            }
            mem.open_txn.push(TxnOut {
                t,
                part,
                offset,
                gp: rec.gp,
                in_offset: rec.offset,
            });
            if begins {
                self.arm_txn_timeout(g, m);
            }
        } else {
            Self::note_committed_output(grp, rec.gp, rec.offset);
        }
    }

    /// An output for input `in_offset` of `gp` became visible to read_committed readers.
    fn note_committed_output(grp: &mut super::group::GroupState, gp: u32, in_offset: u64) {
        let p = &mut grp.parts[gp as usize];
        if in_offset < p.out_committed_high {
            grp.duplicate_committed_outputs += 1;
        } else {
            p.out_committed_high = in_offset + 1;
        }
    }

    /// Member `m`'s batch is done (its offsets were just committed): commit its transaction.
    /// Inlined check: most batches wrote no outputs (every group without
    /// `output`), and then there is nothing to end.
    #[inline]
    pub(crate) fn commit_txn(&mut self, g: u32, m: u32) {
        if self.streams.groups[g as usize].members[m as usize]
            .open_txn
            .is_empty()
        {
            return;
        }
        self.end_txn(g, m, TXN_COMMITTED);
    }

    /// Member `m` crashed: abort its open transaction.
    pub(crate) fn abort_txn(&mut self, g: u32, m: u32) {
        self.end_txn(g, m, TXN_ABORTED);
        self.txn_span_forget(g, m);
    }

    fn end_txn(&mut self, g: u32, m: u32, outcome: u8) {
        let gi = g as usize;
        let outs = std::mem::take(&mut self.streams.groups[gi].members[m as usize].open_txn);
        if outs.is_empty() {
            return;
        }
        let mut touched: Vec<(u32, u32)> = Vec::new();
        for o in &outs {
            // A replicated partition's records settle once the marker is
            // below the high watermark (`settle_txns`).
            if !self.streams.topics[o.t as usize].replicated {
                let log = &mut self.streams.topics[o.t as usize].parts[o.part as usize];
                let i = log.index_from(o.offset);
                if let Some(r) = log.records.get_mut(i).filter(|r| r.offset == o.offset) {
                    r.set_txn(outcome);
                }
            }
            if !touched.contains(&(o.t, o.part)) {
                touched.push((o.t, o.part));
            }
            if outcome == TXN_COMMITTED {
                Self::note_committed_output(&mut self.streams.groups[gi], o.gp, o.in_offset);
            }
        }
        touched.sort_unstable();
        for &(t, part) in &touched {
            let offsets: Vec<u64> = outs
                .iter()
                .filter(|o| (o.t, o.part) == (t, part))
                .map(|o| o.offset)
                .collect();
            if self.streams.topics[t as usize].replicated {
                let log = &mut self.streams.topics[t as usize].parts[part as usize];
                log.unsettled_txns.push(UnsettledTxn {
                    marker: log.end,
                    outcome,
                    offsets: offsets.clone(),
                });
            }
            self.append_marker(t, part, offsets);
        }
        let grp = &mut self.streams.groups[gi];
        let node = grp.node;
        let records = outs.len() as u32;
        if outcome == TXN_COMMITTED {
            grp.txn_committed += 1;
            self.trace.record(
                self.now,
                TraceKind::TxnCommitted { member: m, records },
                None,
                node,
            );
        } else {
            grp.txn_aborted += 1;
            self.trace.record(
                self.now,
                TraceKind::TxnAborted { member: m, records },
                None,
                node,
            );
        }
        // A read_committed reader may have been waiting at the last stable offset.
        for &(t, part) in &touched {
            self.records_appended(t, part);
        }
    }

    /// The high watermark of replicated partition `part` of topic `t`
    /// moved: every transaction whose marker is now below it settles — its
    /// records take their outcome, and `read_committed` readers may pass.
    pub(crate) fn settle_txns(&mut self, t: u32, part: u32) {
        let log = &mut self.streams.topics[t as usize].parts[part as usize];
        let n = log
            .unsettled_txns
            .iter()
            .take_while(|u| u.marker < log.hw)
            .count();
        for u in log.unsettled_txns.drain(..n).collect::<Vec<_>>() {
            for o in u.offsets {
                let i = log.index_from(o);
                if let Some(r) = log.records.get_mut(i).filter(|r| r.offset == o) {
                    r.set_txn(u.outcome);
                }
            }
        }
    }

    /// A leader crash cut partition `part` of topic `t` at `cut`: the
    /// markers it removed are written again to the new leader, at its log
    /// end (Kafka's transaction coordinator retries `WriteTxnMarkers` until
    /// the partition's leader has them; here at once). The transactions'
    /// records the cut removed are gone with it.
    pub(crate) fn rewrite_cut_markers(&mut self, t: u32, part: u32, cut: u64) {
        let log = &mut self.streams.topics[t as usize].parts[part as usize];
        let kept = log.unsettled_txns.partition_point(|u| u.marker < cut);
        let lost: Vec<UnsettledTxn> = log.unsettled_txns.drain(kept..).collect();
        for mut u in lost {
            u.offsets.retain(|&o| o < cut);
            let log = &mut self.streams.topics[t as usize].parts[part as usize];
            u.marker = log.end;
            let offsets = u.offsets.clone();
            log.unsettled_txns.push(u);
            self.append_marker(t, part, offsets);
        }
    }
}
