//! Amazon SQS queues: messages stored until deleted, invisible while in
//! flight, polled by consumers (their side is in `sqs_poll.rs`).
//!
//!   SendMessage ──sqs_send──► [dedup? throttled?] ──► Delayed ──delay──► Visible
//!                                                                 ▲        │ ReceiveMessage
//!       visibility timeout ran out (SqsVisibleAgain) ────────────┘        ▼ (receive count + 1)
//!                                                   redrive policy ◄── InFlight ──DeleteMessage──► gone
//!          receive count ≥ max_receive_count at a receive: moved to the DLQ (SqsMovedToDlq)
//!
//! Reacts to: `SqsEvent::{Visible, DelayEnd, Retention, SendRetry}`; commands
//! `ChangeMessageVisibility`, `RedriveDeadLetters`, `SetVisibilityTimeout`.
//! Exports: `sqs_send` (called by `queue::enqueue` for an SQS queue),
//! `sqs_store`, `sqs_make_visible`, `sqs_move_to_dlq`; a receive
//! (`sqs_take`, the FIFO group and scan rules) is in `sqs_poll.rs`, the rest
//! of a message's life — visible again, retention, delete, release — in
//! `sqs_life.rs`.
//!
//! What it shares with the AMQP queue: the `Queue` node (so the picture,
//! layout and routing work unchanged: producers publish to it through the
//! default exchange or a binding), the message arena and its conservation
//! ledger, the guarantee ledger (`fx_reached` on store, `fx_effect` when a
//! consumer's handler succeeds), the consumer instances and service times.
//! What differs: nothing is pushed — consumers poll; there are no acks but
//! deletes with a receipt handle; a received message is not held by the
//! broker for its consumer but only hidden for `visibility_timeout`, after
//! which anyone may receive it again, even while the first consumer still
//! works on it. So an arena message stays `Queued` for its whole life in SQS
//! (visible, delayed, in flight) and is freed when it is deleted *and* no
//! consumer still holds a receipt for it (`holders`): a consumer that was too
//! slow still finishes its (duplicate) effect, which the ledger counts.
//!
//! Documented behaviour modelled (Amazon SQS Developer Guide):
//! - "Amazon SQS visibility timeout": a received message stays in the queue,
//!   invisible for the timeout (default 30 s, at most 12 h); if not deleted
//!   in time it becomes visible again; `ChangeMessageVisibility` sets a new
//!   timeout counted from now (0 makes it visible at once).
//! - "Amazon SQS standard queues": at-least-once delivery — on rare occasions
//!   a copy on an unavailable server is not deleted and is received again
//!   (`duplicate_rate`, drawn from the queue's own stream at each delete);
//!   best-effort ordering (here: send order, reappearing messages keep theirs).
//! - "Amazon SQS FIFO queues" / "Using the message group ID": no message of a
//!   group is returned while one of that group is in flight (one receive may
//!   return several of one group, in order); "Exactly-once processing": a
//!   send whose deduplication id was accepted in the last 5 minutes succeeds
//!   but is not enqueued (explicit id or content-based); "Amazon SQS quotas":
//!   300 API calls per second per action without batching (`throughput_per_s`).
//! - "Using dead-letter queues": `maxReceiveCount`; "when the ReceiveCount
//!   for a message exceeds the maxReceiveCount", SQS moves it to the DLQ —
//!   here at the receive that would be number max + 1, which is not returned.
//!   The retention of a standard queue's dead letter counts from its original
//!   enqueue time; a FIFO dead letter's restarts. "Configure a dead-letter
//!   queue redrive": messages move back to their source queue (or another).
//! - "Amazon SQS delay queues" (`delay`, at most 15 min) and "message timers"
//!   (a `DelaySeconds` header on a standard queue's message); the retention
//!   period (default 4 days, 60 s to 14 days): older messages are deleted.
//! - `DeleteMessage` with a receipt handle that is not the latest "succeeds,
//!   but the message will not be deleted" (API reference, DeleteMessage); a
//!   FIFO queue's handle also expires with the visibility timeout.
//!
//! Guarantees (checked by `check_sqs`): every stored message is in exactly one
//! of visible / delayed / in flight / deleted-but-held, and the queue's counts
//! agree; holders equal the receipts consumers hold; a FIFO group's in-flight
//! count equals its in-flight messages; a standard queue never has a long
//! poll waiting while a message is visible.

pub use super::sqs_check::SqsCounts;
use crate::engine::core::{Engine, Event};
use crate::engine::message::{flag, MsgState, Sym, NO_SYM};
use crate::engine::prng::Stream;
use crate::engine::time::SimTime;
use crate::engine::trace::{Reason, TraceKind};
use crate::scenario::{SqsDedup, SQS_DEDUP_WINDOW};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// "Not an SQS queue / consumer".
pub(crate) const NO_SQS: u32 = u32::MAX;
/// Largest SQS request payload billed as one request (64 KiB chunks).
pub(crate) const REQUEST_CHUNK_BYTES: u64 = 64 * 1024;

/// SQS's scheduled work (one `Event::Sqs` variant for the model).
#[derive(Clone, Copy, Debug)]
pub(crate) enum SqsEvent {
    /// A received message's visibility timeout may have run out (stale
    /// unless `receipt` is still its receive count and its deadline is now).
    Visible { slot: u32, gen: u32, receipt: u32 },
    /// A delayed message becomes visible.
    DelayEnd { slot: u32, gen: u32 },
    /// A message may have outlived its queue's retention period.
    Retention { slot: u32, gen: u32 },
    /// A throttled `SendMessage` is tried again.
    SendRetry { slot: u32, gen: u32, q: u32 },
    /// A throttled `DeleteMessage` by instance `i` of consumer `c` is tried
    /// again (stale when the instance crashed since: `epoch`).
    DeleteRetry {
        c: u32,
        i: u32,
        epoch: u32,
        slot: u32,
        receipt: u32,
    },
    /// A long poll's wait ended, or a short poller's pause did.
    Poll {
        c: u32,
        i: u32,
        epoch: u32,
        poll: u32,
    },
}

/// An SQS API call that the FIFO throughput limit counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SqsCall {
    Send,
    Receive,
    Delete { instance: u32 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SqsStatus {
    Delayed,
    Visible,
    InFlight,
    /// Deleted (or past retention) while a consumer still holds a receipt.
    Deleted,
}

/// One stored message's SQS attributes (keyed by arena slot).
#[derive(Clone, Debug)]
pub(crate) struct SqsMsg {
    /// The SQS queue it is in.
    pub(crate) sq: u32,
    /// Order within the queue (send order; a dead letter or redriven one gets a new one).
    pub(crate) seq: u64,
    /// When the queue accepted it [µs]: retention counts from here.
    pub(crate) sent_us: u64,
    pub(crate) status: SqsStatus,
    /// In flight: when it becomes visible again [µs].
    pub(crate) visible_at_us: u64,
    /// `ApproximateReceiveCount` (restarts at a redrive).
    pub(crate) receive_count: u32,
    /// Receives before its last redrive: its receipt handle is
    /// `receipt_base + receive_count` (`receipt`), so a handle from before a
    /// redrive, which makes it a new message, never matches after it.
    pub(crate) receipt_base: u32,
    /// In flight: when it was received [µs] (a visibility timeout may not
    /// end more than 12 hours later).
    pub(crate) received_us: u64,
    /// Consumers holding a receipt for it (processing it now).
    pub(crate) holders: u32,
    /// FIFO message group (the message key).
    pub(crate) group: Sym,
    /// The SQS queue it was dead-lettered from (`NO_SQS`: none).
    pub(crate) source: u32,
    /// Removed by retention (`Expired`) or a purge (`Purged`) rather than
    /// deleted by a consumer: dropped with this reason once nobody holds it.
    pub(crate) gone: Option<Reason>,
    /// Auto-ack: the handler failed while the delete on receive waited for
    /// its throttled retry; when that delete goes through, the message is
    /// lost after its auto-ack, not done.
    pub(crate) lost_on_delete: bool,
}

impl SqsMsg {
    /// Its current receipt handle (see `receipt_base`).
    pub(crate) fn receipt(&self) -> u32 {
        self.receipt_base.saturating_add(self.receive_count)
    }
}

#[derive(Clone, Debug)]
pub(crate) struct SqsQueueState {
    /// The engine queue index.
    pub(crate) q: u32,
    pub(crate) fifo: bool,
    /// Its own random stream (`sqs:<id>`): the standard queue's duplicates.
    pub(crate) stream: Stream,
    /// Visible messages by (seq, slot). Changed only through `show` and
    /// `hide`, which keep `visible_groups` with it.
    pub(crate) visible: BTreeSet<(u64, u32)>,
    /// FIFO: visible messages per message group (groups with none left
    /// out), so a receive finds at once that every visible message's group
    /// is in flight (`SqsQueueState::any_group_available`).
    pub(crate) visible_groups: BTreeMap<Sym, u32>,
    pub(crate) delayed: u32,
    pub(crate) in_flight: u32,
    /// Deleted while still held by a consumer.
    pub(crate) zombies: u32,
    pub(crate) groups_in_flight: BTreeMap<Sym, u32>,
    /// FIFO deduplication ids accepted in the last 5 minutes → accepted at [µs],
    /// with their acceptance order for pruning.
    pub(crate) dedup: BTreeMap<(u64, u64), u64>,
    pub(crate) dedup_order: VecDeque<(u64, (u64, u64))>,
    /// Long polls waiting, oldest first: (consumer, instance).
    pub(crate) waiters: VecDeque<(u32, u32)>,
    pub(crate) serving: bool,
    /// The FIFO throughput window (whole seconds) and its counts.
    pub(crate) window_s: u64,
    pub(crate) sends_in_window: u32,
    pub(crate) receives_in_window: u32,
    pub(crate) deletes_in_window: u32,
    pub(crate) counts: SqsCounts,
}

impl SqsQueueState {
    /// Message (seq, slot) of `group` becomes visible.
    pub(crate) fn show(&mut self, seq: u64, slot: u32, group: Sym) {
        if self.visible.insert((seq, slot)) && self.fifo {
            *self.visible_groups.entry(group).or_insert(0) += 1;
        }
    }

    /// Message (seq, slot) of `group` is no longer visible.
    pub(crate) fn hide(&mut self, seq: u64, slot: u32, group: Sym) {
        if self.visible.remove(&(seq, slot)) && self.fifo {
            if let Some(n) = self.visible_groups.get_mut(&group) {
                *n -= 1;
                if *n == 0 {
                    self.visible_groups.remove(&group);
                }
            }
        }
    }

    /// FIFO: some visible message belongs to a group with nothing in
    /// flight. When none does, a receive returns nothing without looking
    /// at a message: each one it would look at is skipped for its group.
    pub(crate) fn any_group_available(&self) -> bool {
        self.visible_groups
            .keys()
            .any(|g| !self.groups_in_flight.contains_key(g))
    }
}

/// Per consumer instance: its poll in progress and its receipt handles.
#[derive(Clone, Debug, Default)]
pub(crate) struct Poller {
    /// A long poll is waiting (listed in its queue's `waiters`).
    pub(crate) waiting: bool,
    /// A short poller pauses after an empty receive (or a throttled one).
    pub(crate) sleeping: bool,
    /// Bumped whenever a pending `Poll` event must be ignored.
    pub(crate) poll: u32,
    pub(crate) wait_since_us: u64,
    /// Receipt handles, parallel to the instance's buffer.
    pub(crate) receipts: VecDeque<Receipt>,
}

/// A receipt handle an instance holds, and whether the consumer deleted the
/// message as it received it (ack mode `auto` at that receive). The ack mode
/// in force at the receive decides what happens when the handler finishes
/// or the instance crashes, not the one in force then (`set_ack_mode` and
/// `set_guarantee` may change it meanwhile), as the AMQP consumer records
/// `AUTO_ACKED` per delivery: the client deleted it or not back then.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Receipt {
    pub(crate) handle: u32,
    pub(crate) deleted_on_receive: bool,
}

/// The SQS model's state.
#[derive(Clone, Debug, Default)]
pub(crate) struct Sqs {
    /// Engine queue index → SQS queue index (`NO_SQS`: an AMQP queue).
    pub(crate) of_queue: Vec<u32>,
    pub(crate) queues: Vec<SqsQueueState>,
    /// Per consumer: its instances' pollers (empty for non-SQS consumers).
    pub(crate) polls: Vec<Vec<Poller>>,
    pub(crate) is_consumer: Vec<bool>,
    /// Arena slot → SQS attributes of every message stored in SQS.
    pub(crate) msgs: BTreeMap<u32, SqsMsg>,
    pub(crate) next_seq: u64,
    /// Arena slot → throttled `DeleteMessage` calls waiting for their retry;
    /// each holds the message (`SqsMsg::holders`) like a receipt.
    pub(crate) delete_retries: BTreeMap<u32, u32>,
}

impl Engine {
    /// The SQS queues and pollers (called once by `Engine::new`, after the consumers).
    pub(crate) fn build_sqs(&mut self) {
        let cfg = self.cfg.clone();
        self.sqs.of_queue = vec![NO_SQS; cfg.queues.len()];
        for (qi, q) in cfg.queues.iter().enumerate() {
            if let Some(s) = &q.sqs {
                self.sqs.of_queue[qi] = self.sqs.queues.len() as u32;
                self.sqs.queues.push(SqsQueueState {
                    q: qi as u32,
                    fifo: s.fifo(),
                    stream: Stream::new(self.seed, &format!("sqs:{}", q.id)),
                    visible: BTreeSet::new(),
                    delayed: 0,
                    in_flight: 0,
                    zombies: 0,
                    groups_in_flight: BTreeMap::new(),
                    visible_groups: BTreeMap::new(),
                    dedup: BTreeMap::new(),
                    dedup_order: VecDeque::new(),
                    waiters: VecDeque::new(),
                    serving: false,
                    window_s: 0,
                    sends_in_window: 0,
                    receives_in_window: 0,
                    deletes_in_window: 0,
                    counts: SqsCounts::default(),
                });
            }
        }
        for (ci, c) in cfg.consumers.iter().enumerate() {
            let sqs = self.sqs.of_queue[self.consumers[ci].queue as usize] != NO_SQS;
            self.sqs.is_consumer.push(sqs);
            if !sqs {
                self.sqs.polls.push(Vec::new());
                continue;
            }
            let max = c.sqs.clone().unwrap_or_default().max_messages;
            let cs = &mut self.consumers[ci];
            cs.prefetch = max;
            cs.prefetch_ceiling = max;
            self.sqs
                .polls
                .push(vec![Poller::default(); c.instances as usize]);
            // Every instance starts polling at time 0.
            for i in 0..c.instances {
                self.agenda.schedule(
                    SimTime::ZERO,
                    Event::Sqs(SqsEvent::Poll {
                        c: ci as u32,
                        i,
                        epoch: 0,
                        poll: 0,
                    }),
                );
            }
        }
    }

    /// Is engine queue `q` an SQS queue?
    #[inline]
    pub(crate) fn is_sqs_queue(&self, q: u32) -> bool {
        self.sqs
            .of_queue
            .get(q as usize)
            .is_some_and(|&s| s != NO_SQS)
    }

    /// Does consumer `c` poll an SQS queue?
    #[inline]
    pub(crate) fn is_sqs_consumer(&self, c: u32) -> bool {
        self.sqs
            .is_consumer
            .get(c as usize)
            .copied()
            .unwrap_or(false)
    }

    pub(crate) fn on_sqs_event(&mut self, ev: SqsEvent) {
        match ev {
            SqsEvent::Visible { slot, gen, receipt } => self.on_sqs_visible(slot, gen, receipt),
            SqsEvent::DelayEnd { slot, gen } => {
                if self.sqs_live(slot, gen, SqsStatus::Delayed) {
                    let sq = self.sqs.msgs[&slot].sq;
                    self.sqs.queues[sq as usize].delayed -= 1;
                    let (id, node) = self.sqs_ids(slot);
                    self.trace
                        .record(self.now, TraceKind::SqsDelayEnded, Some(id), node);
                    self.sqs_make_visible(slot);
                }
            }
            SqsEvent::Retention { slot, gen } => self.on_sqs_retention(slot, gen),
            SqsEvent::SendRetry { slot, gen, q } => {
                let m = &self.msgs[slot as usize];
                if m.gen == gen && m.state == MsgState::Transit {
                    self.sqs_send(slot, q);
                }
            }
            SqsEvent::Poll { c, i, epoch, poll } => self.on_sqs_poll(c, i, epoch, poll),
            SqsEvent::DeleteRetry {
                c,
                i,
                epoch,
                slot,
                receipt,
            } => {
                // The retry held the receipt (`sqs_delete`); a crashed
                // client sends nothing.
                if let Some(n) = self.sqs.delete_retries.get_mut(&slot) {
                    *n -= 1;
                    if *n == 0 {
                        self.sqs.delete_retries.remove(&slot);
                    }
                }
                let alive = self.consumers[c as usize]
                    .instances
                    .get(i as usize)
                    .is_some_and(|x| x.epoch == epoch);
                if alive {
                    self.sqs_delete(c, i, slot, receipt);
                }
                self.sqs_release_hold(slot);
            }
        }
    }

    /// Is `slot` (generation `gen`) stored in SQS with status `status`?
    pub(crate) fn sqs_live(&self, slot: u32, gen: u32, status: SqsStatus) -> bool {
        self.msgs[slot as usize].gen == gen
            && self.msgs[slot as usize].state != MsgState::Free
            && self.sqs.msgs.get(&slot).is_some_and(|r| r.status == status)
    }

    /// The message id of `slot` and its SQS queue's node.
    pub(crate) fn sqs_ids(&self, slot: u32) -> (u64, crate::engine::trace::NodeId) {
        let sq = self.sqs.msgs[&slot].sq;
        let q = self.sqs.queues[sq as usize].q;
        (self.msgs[slot as usize].id, self.queues[q as usize].node)
    }

    /// Move the FIFO throughput window to the current second.
    pub(crate) fn sqs_roll_window(&mut self, sq: u32) {
        let s = self.now.0 / 1_000_000;
        let st = &mut self.sqs.queues[sq as usize];
        if st.window_s != s {
            st.window_s = s;
            st.sends_in_window = 0;
            st.receives_in_window = 0;
            st.deletes_in_window = 0;
        }
    }

    /// The next throughput window's start [µs].
    pub(crate) fn sqs_next_window(&self) -> SimTime {
        SimTime((self.now.0 / 1_000_000 + 1) * 1_000_000)
    }

    /// Is the FIFO throughput limit reached for this call this second?
    /// Counts the call when it is not. SQS: "300 transactions per second,
    /// per API action for SendMessage, ReceiveMessage, and DeleteMessage".
    pub(crate) fn sqs_throttle(&mut self, sq: u32, call: SqsCall) -> bool {
        let q = self.sqs.queues[sq as usize].q as usize;
        let Some(cap) = self.cfg.queues[q]
            .sqs
            .as_ref()
            .and_then(|s| s.throughput_cap())
        else {
            return false;
        };
        self.sqs_roll_window(sq);
        let st = &mut self.sqs.queues[sq as usize];
        let n = match call {
            SqsCall::Send => &mut st.sends_in_window,
            SqsCall::Receive => &mut st.receives_in_window,
            SqsCall::Delete { .. } => &mut st.deletes_in_window,
        };
        if *n >= cap {
            st.counts.throttled += 1;
            let node = self.queues[q].node;
            let kind = match call {
                SqsCall::Send => TraceKind::SqsThrottled { send: true },
                SqsCall::Receive => TraceKind::SqsThrottled { send: false },
                SqsCall::Delete { instance } => TraceKind::SqsDeleteThrottled { instance },
            };
            self.trace.record(self.now, kind, None, node);
            return true;
        }
        *n += 1;
        false
    }

    /// `SendMessage` of `slot` to SQS queue `q` (engine queue index), from
    /// `queue::enqueue`: throttled, deduplicated, or stored (delayed or visible).
    pub(crate) fn sqs_send(&mut self, slot: u32, q: u32) {
        let sq = self.sqs.of_queue[q as usize];
        let cfg = self.cfg.queues[q as usize]
            .sqs
            .clone()
            .expect("an SQS queue");
        let key = self.msgs[slot as usize].key;
        if cfg.fifo() && (key == NO_SYM || self.syms[key as usize].is_empty()) {
            // A FIFO queue needs a non-empty MessageGroupId: SQS answers the
            // send with `MissingParameter` and stores nothing. A producer
            // sending straight to the queue is refused by validation; a
            // message without a key (or with an empty one) routed here
            // through an exchange is dropped.
            self.msgs[slot as usize].set(flag::FROM_PRODUCER, false);
            self.set_state(slot, MsgState::Queued);
            self.queue_drop(slot, q, Reason::SqsMissingGroupId);
            return;
        }
        let payload = self.payload_bytes(slot) as u64;
        self.sqs.queues[sq as usize].counts.send_requests +=
            payload.div_ceil(REQUEST_CHUNK_BYTES).max(1);
        if self.sqs_throttle(sq, SqsCall::Send) {
            // The client's SDK retries at the next second.
            let gen = self.msgs[slot as usize].gen;
            self.agenda.schedule(
                self.sqs_next_window(),
                Event::Sqs(SqsEvent::SendRetry { slot, gen, q }),
            );
            return;
        }
        let qnode = self.queues[q as usize].node;
        if cfg.fifo() {
            let key = self.sqs_dedup_key(slot, cfg.deduplication);
            let now = self.now.0;
            let st = &mut self.sqs.queues[sq as usize];
            while let Some(&(at, k)) = st.dedup_order.front() {
                if at + SQS_DEDUP_WINDOW.us() > now {
                    break;
                }
                st.dedup_order.pop_front();
                if st.dedup.get(&k) == Some(&at) {
                    st.dedup.remove(&k);
                }
            }
            if st.dedup.contains_key(&key) {
                // Accepted (the producer hears success) but not enqueued.
                st.counts.deduplicated += 1;
                self.effects.report.broker_deduplicated += 1;
                self.msgs[slot as usize].set(flag::FROM_PRODUCER, false);
                let id = self.msgs[slot as usize].id;
                self.trace
                    .record(self.now, TraceKind::SqsDeduplicated, Some(id), qnode);
                self.set_state(slot, MsgState::Queued);
                self.queue_drop(slot, q, Reason::SqsDeduplicated);
                return;
            }
            st.dedup.insert(key, now);
            st.dedup_order.push_back((now, key));
        }
        // A message timer (standard queues only; FIFO queues have only the queue delay).
        let mut delay_us = cfg.delay.us();
        if !cfg.fifo() {
            let h = &self.hdrs[self.msgs[slot as usize].headers as usize];
            if let Some(s) = h.get("DelaySeconds").and_then(|v| v.parse::<u64>().ok()) {
                delay_us = s.min(900) * 1_000_000;
            }
        }
        self.totals.enqueued += 1;
        self.queues[q as usize].enqueued += 1;
        self.msgs[slot as usize].set(flag::FROM_PRODUCER, false);
        self.fx_reached(slot, q);
        self.set_state(slot, MsgState::Queued);
        self.msgs[slot as usize].queue = q as u16;
        let group = if cfg.fifo() {
            self.msgs[slot as usize].key
        } else {
            NO_SYM
        };
        self.sqs.queues[sq as usize].counts.stored += 1;
        self.sqs_store(slot, sq, self.now.0, group, NO_SQS, delay_us, 0);
    }

    /// The deduplication id of `slot`.
    pub(crate) fn sqs_dedup_key(&self, slot: u32, mode: SqsDedup) -> (u64, u64) {
        match mode {
            SqsDedup::BusinessId => (0, self.business_id(slot)),
            SqsDedup::Content => {
                let m = &self.msgs[slot as usize];
                (
                    1 << 63 | (m.routing_key as u64) << 32 | m.key as u64,
                    (m.headers as u64) << 32 | self.payload_bytes(slot) as u64,
                )
            }
        }
    }

    /// Put `slot` (already `Queued` in engine queue terms) into SQS queue
    /// `sq`: delayed for `delay_us` or visible now; retention counts from `sent_us`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn sqs_store(
        &mut self,
        slot: u32,
        sq: u32,
        sent_us: u64,
        group: Sym,
        source: u32,
        delay_us: u64,
        receive_count: u32,
    ) {
        let seq = self.sqs.next_seq;
        self.sqs.next_seq += 1;
        let q = self.sqs.queues[sq as usize].q;
        self.msgs[slot as usize].queue = q as u16;
        let holders = self.sqs.msgs.get(&slot).map_or(0, |r| r.holders);
        // Receipt handles count on across moves and redrives, and a stored
        // message's first handle is one nobody holds: the last one given out
        // (`receipt()` before this store) plus one, so a handle from the
        // source queue never deletes a redriven message that nobody has
        // received since (it is a new message to SQS).
        let receipt_base = self.sqs.msgs.get(&slot).map_or(0, |r| {
            r.receipt().saturating_add(1).saturating_sub(receive_count)
        });
        self.sqs.msgs.insert(
            slot,
            SqsMsg {
                sq,
                seq,
                sent_us,
                status: SqsStatus::Delayed,
                visible_at_us: 0,
                receive_count,
                receipt_base,
                received_us: 0,
                holders,
                group,
                source,
                gone: None,
                lost_on_delete: false,
            },
        );
        let gen = self.msgs[slot as usize].gen;
        let retention = self.cfg.queues[q as usize]
            .sqs
            .as_ref()
            .map_or(0, |s| s.retention.us());
        self.agenda.schedule(
            SimTime(sent_us.saturating_add(retention).max(self.now.0)),
            Event::Sqs(SqsEvent::Retention { slot, gen }),
        );
        let st = &mut self.sqs.queues[sq as usize];
        let depth = st.visible.len() as u32 + st.delayed + 1;
        let id = self.msgs[slot as usize].id;
        let node = self.queues[q as usize].node;
        self.trace
            .record(self.now, TraceKind::Enqueued { depth }, Some(id), node);
        let qs = &mut self.queues[q as usize];
        qs.depth_max = qs.depth_max.max(depth);
        if delay_us > 0 {
            self.sqs.queues[sq as usize].delayed += 1;
            self.agenda.schedule(
                self.now.after(delay_us),
                Event::Sqs(SqsEvent::DelayEnd { slot, gen }),
            );
        } else {
            self.sqs_make_visible(slot);
        }
    }

    /// `slot` (stored, not yet visible) becomes visible; waiting long polls get it.
    pub(crate) fn sqs_make_visible(&mut self, slot: u32) {
        let r = self.sqs.msgs.get_mut(&slot).expect("stored");
        r.status = SqsStatus::Visible;
        let (sq, seq, group) = (r.sq, r.seq, r.group);
        let st = &mut self.sqs.queues[sq as usize];
        st.show(seq, slot, group);
        // Back from flight, a redrive or a delay: the depth may peak here.
        let depth = st.visible.len() as u32 + st.delayed;
        let q = st.q as usize;
        self.queues[q].depth_max = self.queues[q].depth_max.max(depth);
        let st = &mut self.sqs.queues[sq as usize];
        // A FIFO message of a group in flight cannot be received: waiting
        // polls found nothing before it and find nothing now, so do not
        // scan the queue for them (a deep blocked group made every send a
        // scan of the whole backlog).
        if st.fifo && st.groups_in_flight.get(&group).is_some_and(|&n| n > 0) {
            return;
        }
        self.sqs_serve_waiters(sq);
    }

    /// Move `slot` (just taken off the visible set) to its queue's DLQ.
    pub(crate) fn sqs_move_to_dlq(&mut self, slot: u32) {
        let r = self.sqs.msgs[&slot].clone();
        let q = self.sqs.queues[r.sq as usize].q;
        let dlq_id = self.cfg.queues[q as usize]
            .sqs
            .as_ref()
            .and_then(|s| s.dead_letter_queue.clone())
            .expect("a redrive policy");
        let dlq = self.node_of(&dlq_id).expect("validated").index;
        let dsq = self.sqs.of_queue[dlq as usize];
        let fifo = self.sqs.queues[dsq as usize].fifo;
        let (id, node) = self.sqs_ids(slot);
        let dnode = self.queues[dlq as usize].node;
        self.trace.record(
            self.now,
            TraceKind::SqsMovedToDlq {
                dlq: dnode,
                receive_count: r.receive_count,
            },
            Some(id),
            node,
        );
        self.sqs.queues[r.sq as usize].counts.moved_to_dlq += 1;
        self.totals.dead_lettered += 1;
        self.queues[q as usize].dead_lettered += 1;
        self.queues[dlq as usize].enqueued += 1;
        self.totals.enqueued += 1;
        self.fx_reached(slot, dlq);
        // A standard queue's dead letter keeps its enqueue time; a FIFO one's restarts.
        let sent = if fifo { self.now.0 } else { r.sent_us };
        // It keeps its receive count (the DLQ's receives count on from it).
        self.sqs_store(slot, dsq, sent, r.group, r.sq, 0, r.receive_count);
    }
}
