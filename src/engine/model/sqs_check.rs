//! SQS read-only projections: the report's `sqs` object (requests and cost
//! per queue), the counts tests and the UI read, and the model's invariants
//! (split from `sqs.rs`, whose module doc states them).
//!
//!   Engine ──sqs_report──► SqsReport (run --json: `sqs`, `nodes.<queue>.sqs`)
//!          ──check_sqs───► the first broken invariant, in words

use super::sqs::SqsStatus;
use crate::engine::core::Engine;
use crate::engine::message::{MsgState, Sym};
use serde::Serialize;
use std::collections::BTreeMap;

/// Requests and outcomes of one SQS queue, as the report prints them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct SqsCounts {
    /// `SendMessage` requests (64 KiB chunks counted separately, throttled ones included).
    pub send_requests: u64,
    /// `ReceiveMessage` requests (throttled ones included; each 64 KiB chunk
    /// of what a receive returns beyond the first counted separately, as SQS
    /// bills them).
    pub receive_requests: u64,
    /// `DeleteMessage` requests.
    pub delete_requests: u64,
    /// `ChangeMessageVisibility` requests.
    pub change_visibility_requests: u64,
    /// `PurgeQueue` and `StartMessageMoveTask` (redrive) requests.
    pub admin_requests: u64,
    /// Receives that returned nothing.
    pub empty_receives: u64,
    /// Requests refused by the FIFO throughput limit (and retried).
    pub throttled: u64,
    /// Sends accepted and stored.
    pub stored: u64,
    /// Sends accepted but not stored (FIFO deduplication).
    pub deduplicated: u64,
    /// Messages returned by receives.
    pub received: u64,
    /// Messages deleted.
    pub deleted: u64,
    /// Deletes that missed a stored copy (standard queues' duplicates).
    pub delete_missed: u64,
    /// Deletes with an out-of-date receipt handle (nothing deleted).
    pub stale_deletes: u64,
    /// Visibility timeouts that ran out.
    pub visible_again: u64,
    pub moved_to_dlq: u64,
    pub redriven: u64,
}

impl SqsCounts {
    pub fn requests(&self) -> u64 {
        self.send_requests
            + self.receive_requests
            + self.delete_requests
            + self.change_visibility_requests
            + self.admin_requests
    }
}

/// One SQS queue in a snapshot, for the picture.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SqsQueueView {
    /// Index into `Snapshot::nodes`.
    pub node: usize,
    pub fifo: bool,
    pub visible: u32,
    pub in_flight: u32,
    pub delayed: u32,
    /// The soonest an in-flight message becomes visible again [µs from now].
    pub next_visible_in_us: Option<u64>,
}

/// One SQS queue in the report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SqsQueueReport {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub visible: u32,
    pub in_flight: u32,
    pub delayed: u32,
    pub requests: u64,
    pub price_per_million_usd: f64,
    pub cost_usd: f64,
    #[serde(flatten)]
    pub counts: SqsCounts,
}

/// All SQS queues: per queue, and the totals.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SqsReport {
    pub requests: u64,
    /// Requests × price per million; the prices are assumptions (see README).
    pub cost_usd: f64,
    pub queues: BTreeMap<String, SqsQueueReport>,
}

impl Engine {
    // ------------------------------------------------ views and report

    /// (visible, in flight) of engine queue `q`, if it is an SQS queue.
    pub(crate) fn sqs_depths(&self, q: u32) -> Option<(u32, u32)> {
        let sq = *self.sqs.of_queue.get(q as usize)?;
        let st = self.sqs.queues.get(sq as usize)?;
        Some((st.visible.len() as u32 + st.delayed, st.in_flight))
    }

    /// Requests, cost and counts of every SQS queue (`None` without any).
    pub fn sqs_report(&self) -> Option<SqsReport> {
        if self.sqs.queues.is_empty() {
            return None;
        }
        let mut queues = BTreeMap::new();
        let (mut requests, mut cost) = (0, 0.0);
        for st in &self.sqs.queues {
            let c = &self.cfg.queues[st.q as usize];
            let s = c.sqs.as_ref().expect("an SQS queue");
            let price = s.price_usd();
            let r = st.counts.requests();
            let cost_usd = r as f64 * price / 1e6;
            requests += r;
            cost += cost_usd;
            queues.insert(
                c.id.clone(),
                SqsQueueReport {
                    kind: if st.fifo { "fifo" } else { "standard" },
                    visible: st.visible.len() as u32,
                    in_flight: st.in_flight,
                    delayed: st.delayed,
                    requests: r,
                    price_per_million_usd: price,
                    cost_usd,
                    counts: st.counts,
                },
            );
        }
        Some(SqsReport {
            requests,
            cost_usd: cost,
            queues,
        })
    }

    /// Every SQS queue's counts and its next reappearance, for snapshots.
    pub(crate) fn sqs_views(&self) -> Vec<SqsQueueView> {
        let mut next: Vec<Option<u64>> = vec![None; self.sqs.queues.len()];
        for r in self.sqs.msgs.values() {
            if r.status == SqsStatus::InFlight {
                let n = &mut next[r.sq as usize];
                let left = r.visible_at_us.saturating_sub(self.now.0);
                *n = Some(n.map_or(left, |m| m.min(left)));
            }
        }
        self.sqs
            .queues
            .iter()
            .zip(next)
            .map(|(st, next_visible_in_us)| SqsQueueView {
                node: self.queues[st.q as usize].node.0 as usize,
                fifo: st.fifo,
                visible: st.visible.len() as u32,
                in_flight: st.in_flight,
                delayed: st.delayed,
                next_visible_in_us,
            })
            .collect()
    }

    /// The counts of SQS queue `id` (tests and the UI).
    pub fn sqs_counts(&self, id: &str) -> Option<SqsCounts> {
        let n = self.node_of(id)?;
        let sq = *self.sqs.of_queue.get(n.index as usize)?;
        self.sqs.queues.get(sq as usize).map(|s| s.counts)
    }

    /// `ApproximateReceiveCount` of message `id`, while SQS stores it.
    pub fn sqs_receive_count(&self, id: u64) -> Option<u32> {
        self.sqs
            .msgs
            .iter()
            .find(|(&s, _)| self.msgs[s as usize].id == id)
            .map(|(_, r)| r.receive_count)
    }

    // ------------------------------------------------ invariants

    /// See the module doc. Returns the number of arena messages stored in
    /// engine queue `q` (for the conservation check).
    pub(crate) fn sqs_stored_in(&self, q: u32) -> u64 {
        let sq = self.sqs.of_queue[q as usize];
        self.sqs.msgs.values().filter(|r| r.sq == sq).count() as u64
    }

    pub(crate) fn check_sqs(&self) -> Result<(), String> {
        let n = self.sqs.queues.len();
        let (mut vis, mut del, mut fl, mut zom) =
            (vec![0u32; n], vec![0u32; n], vec![0u32; n], vec![0u32; n]);
        let mut groups: Vec<BTreeMap<Sym, u32>> = vec![BTreeMap::new(); n];
        let mut visible_groups: Vec<BTreeMap<Sym, u32>> = vec![BTreeMap::new(); n];
        let mut holders: BTreeMap<u32, u32> = BTreeMap::new();
        for (ci, polls) in self.sqs.polls.iter().enumerate() {
            let cs = &self.consumers[ci];
            if polls.len() != cs.instances.len() && self.sqs.is_consumer[ci] {
                // Resized lazily at the next wake; only allowed to lag behind removals.
                if polls.len() < cs.instances.len() {
                    continue;
                }
            }
            for (ii, p) in polls.iter().enumerate() {
                let Some(inst) = cs.instances.get(ii) else {
                    continue;
                };
                if p.receipts.len() != inst.buffer.len() {
                    return Err(format!(
                        "sqs consumer {ci}#{ii}: receipts and buffer differ"
                    ));
                }
                if p.waiting && (!inst.up || inst.busy || !inst.buffer.is_empty()) {
                    return Err(format!(
                        "sqs consumer {ci}#{ii} long-polls while busy or down"
                    ));
                }
                for &s in &inst.buffer {
                    *holders.entry(s).or_insert(0) += 1;
                }
            }
        }
        for (&slot, &n) in &self.sqs.delete_retries {
            *holders.entry(slot).or_insert(0) += n;
        }
        for (&slot, r) in &self.sqs.msgs {
            let sq = r.sq as usize;
            let m = &self.msgs[slot as usize];
            if m.state != MsgState::Queued || m.queue as u32 != self.sqs.queues[sq].q {
                return Err(format!("sqs message {} has state {:?}", m.id, m.state));
            }
            if holders.get(&slot).copied().unwrap_or(0) != r.holders {
                return Err(format!("sqs message {} counts {} holders", m.id, r.holders));
            }
            match r.status {
                SqsStatus::Visible => {
                    if !self.sqs.queues[sq].visible.contains(&(r.seq, slot)) {
                        return Err(format!("visible sqs message {} not listed", m.id));
                    }
                    vis[sq] += 1;
                    *visible_groups[sq].entry(r.group).or_insert(0) += 1;
                }
                SqsStatus::Delayed => del[sq] += 1,
                SqsStatus::InFlight => {
                    fl[sq] += 1;
                    if self.sqs.queues[sq].fifo {
                        *groups[sq].entry(r.group).or_insert(0) += 1;
                    }
                    if r.visible_at_us < self.now.0 {
                        return Err(format!("sqs message {} overdue to reappear", m.id));
                    }
                }
                SqsStatus::Deleted => {
                    zom[sq] += 1;
                    if r.holders == 0 {
                        return Err(format!("deleted sqs message {} held by no one", m.id));
                    }
                }
            }
        }
        for (sq, st) in self.sqs.queues.iter().enumerate() {
            if st.visible.len() as u32 != vis[sq]
                || st.delayed != del[sq]
                || st.in_flight != fl[sq]
                || st.zombies != zom[sq]
                || st.groups_in_flight != groups[sq]
                || (st.fifo && st.visible_groups != visible_groups[sq])
            {
                return Err(format!(
                    "sqs queue {} counts disagree with its messages",
                    self.cfg.queues[st.q as usize].id
                ));
            }
            if st.fifo && st.in_flight as u64 > super::sqs_poll::FIFO_SCAN_MAX {
                return Err(format!(
                    "sqs queue {}: {} messages in flight, past a FIFO queue's {}",
                    self.cfg.queues[st.q as usize].id,
                    st.in_flight,
                    super::sqs_poll::FIFO_SCAN_MAX
                ));
            }
            if !st.fifo && !st.waiters.is_empty() && !st.visible.is_empty() {
                return Err(format!(
                    "sqs queue {}: a long poll waits while a message is visible",
                    self.cfg.queues[st.q as usize].id
                ));
            }
            for &(c, i) in &st.waiters {
                if !self.sqs.polls[c as usize]
                    .get(i as usize)
                    .is_some_and(|p| p.waiting)
                {
                    return Err(format!("sqs waiter {c}#{i} is not waiting"));
                }
            }
        }
        Ok(())
    }
}
