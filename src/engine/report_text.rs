//! The one-line human text of a trace event (the app's event log, the CLI's
//! text trace): every kind's sentence, with node references as ids (split
//! from `report.rs`, which keeps the JSON forms and the run report).
//!
//!   TraceEvent ──Engine::trace_text──► "12.500000s orders: m42 dispatched to c0"
//!
//! Read-only; the text never feeds back into the engine or the trace hash.

use super::core::Engine;
use super::report::TraceNaming;
use super::trace::{DisconnectCause, TraceEvent, TraceKind};

impl Engine {
    /// One line of human text for an event (event log, CLI).
    pub fn trace_text(&self, ev: &TraceEvent) -> String {
        let node = self.node_name(ev.node);
        let msg = ev.msg.map(|m| format!("m{m} ")).unwrap_or_default();
        let detail = match ev.kind {
            TraceKind::Published { to, .. } => format!("published to {}", self.node_name(to)),
            TraceKind::Routed { queues } => format!("routed to {queues} queue(s)"),
            TraceKind::Unroutable { alternate: Some(a) } => {
                format!("unroutable, sent to {}", self.node_name(a))
            }
            TraceKind::Unroutable { alternate: None } => "unroutable".into(),
            TraceKind::Copied { copy } => format!("copied as m{copy}"),
            TraceKind::Enqueued { depth } => format!("enqueued (depth {depth})"),
            TraceKind::Requeued { depth } => format!("requeued at head (depth {depth})"),
            TraceKind::Delivered {
                consumer,
                instance,
                attempt,
                redelivered,
            } => format!(
                "delivered to {}#{instance}, attempt {attempt}{}",
                self.node_name(consumer),
                if redelivered { ", redelivered" } else { "" }
            ),
            TraceKind::Acked { instance } => format!("acked by #{instance}"),
            TraceKind::Processed {
                instance,
                service_us,
            } => {
                format!(
                    "processed by #{instance} in {:.1} ms",
                    service_us as f64 / 1000.0
                )
            }
            TraceKind::Failed { instance, attempt } => {
                format!("failed in #{instance} (failure {attempt})")
            }
            TraceKind::Nacked { instance, requeue } => {
                format!(
                    "nacked by #{instance}{}",
                    if requeue { ", requeue" } else { "" }
                )
            }
            TraceKind::RetryScheduled { attempt, delay_us } => {
                format!("retry {attempt} in {:.1} ms", delay_us as f64 / 1000.0)
            }
            TraceKind::Retried { attempt } => format!("retry {attempt} back in queue"),
            TraceKind::Expired => "expired (TTL)".into(),
            TraceKind::DeadLettered {
                reason,
                exchange,
                deaths,
            } => {
                format!(
                    "dead-lettered ({}) to {} (death {deaths})",
                    reason.name(),
                    self.node_name(exchange)
                )
            }
            TraceKind::Dropped { reason } => format!("dropped ({})", reason.name()),
            TraceKind::Crashed {
                instance,
                returned,
                lost,
            } => {
                format!("instance #{instance} crashed: {returned} returned, {lost} lost")
            }
            TraceKind::Restarted { instance } => format!("instance #{instance} restarted"),
            TraceKind::CommandApplied { index, scheduled } => {
                let c = self.command_description(index, scheduled);
                format!("command: {}", c.unwrap_or_default())
            }
            TraceKind::Appended {
                partition,
                offset,
                tombstone,
            } => format!(
                "{} to partition {partition} at offset {offset}",
                if tombstone {
                    "tombstone appended"
                } else {
                    "appended"
                }
            ),
            TraceKind::Fetched {
                member,
                topic,
                partition,
                from,
                count,
            } => format!(
                "#{member} fetched {count} from {}/{partition} at offset {from}",
                self.node_name(topic)
            ),
            TraceKind::Committed {
                topic,
                partition,
                offset,
            } => format!(
                "committed {}/{partition} at {offset}",
                self.node_name(topic)
            ),
            TraceKind::RebalanceStarted {
                generation,
                members,
            } => format!("rebalance {generation} started ({members} members)"),
            TraceKind::RebalanceCompleted { generation } => {
                format!("rebalance {generation} completed")
            }
            TraceKind::Assigned {
                member,
                topic,
                partition,
            } => format!(
                "{}/{partition} assigned to #{member}",
                self.node_name(topic)
            ),
            TraceKind::Revoked {
                member,
                topic,
                partition,
            } => format!(
                "{}/{partition} revoked from #{member}",
                self.node_name(topic)
            ),
            TraceKind::RetentionDeleted {
                partition,
                count,
                log_start,
            } => format!(
                "retention deleted {count} from partition {partition} (log start {log_start})"
            ),
            TraceKind::Compacted {
                partition,
                removed,
                tombstones,
            } => format!(
                "compaction removed {removed} from partition {partition}{}",
                if tombstones > 0 {
                    format!(" ({tombstones} tombstones: keys deleted)")
                } else {
                    String::new()
                }
            ),
            TraceKind::SentToRetryTopic {
                topic,
                copy,
                attempt,
            } => format!(
                "failed {attempt}x, sent to retry topic {} as #{copy}",
                self.node_name(topic)
            ),
            TraceKind::SentToDeadLetterTopic {
                topic,
                copy,
                attempts,
            } => format!(
                "failed {attempts}x, sent to dead-letter topic {} as #{copy}",
                self.node_name(topic)
            ),
            TraceKind::Seeked {
                topic,
                partition,
                offset,
            } => format!("{}/{partition} seeked to {offset}", self.node_name(topic)),
            TraceKind::NetworkDuplicated { copy } => {
                format!("the network delivered it twice: m{copy} is the second")
            }
            TraceKind::ConfirmMissing {
                original,
                nacked: true,
            } => format!("negative confirm for business message {original}: will resend"),
            TraceKind::ConfirmMissing {
                original,
                nacked: false,
            } => {
                format!("no confirm for business message {original}: will resend after the timeout")
            }
            TraceKind::Resent { original, attempt } => {
                format!("resent business message {original} (send {attempt})")
            }
            TraceKind::GaveUp { original, sends } => {
                format!("gave up on business message {original} after {sends} sends")
            }
            TraceKind::Deduplicated { instance, original } => format!(
                "#{instance} had already done business message {original}: acked, effect skipped"
            ),
            TraceKind::AckLost { instance } => {
                format!("ack from #{instance} lost: the broker will redeliver")
            }
            TraceKind::BrokerCrashed { lost } => {
                format!("broker crashed: connections dropped, {lost} transient message(s) lost")
            }
            TraceKind::BrokerRestarted => "broker restarted".into(),
            TraceKind::TxnCommitted { member, records } => {
                format!("#{member} committed a transaction: {records} output(s) and the batch's offsets")
            }
            TraceKind::DeliveredTwice { instance } => {
                format!("delivered to #{instance} a second time by the network: handled again")
            }
            TraceKind::MemberPaused { member, pause_us } => {
                format!("#{member} paused for {} ms: no heartbeats, no processing", pause_us / 1000)
            }
            TraceKind::MemberResumed { member, evicted } => {
                if evicted {
                    format!("#{member} woke up, evicted meanwhile: a zombie")
                } else {
                    format!("#{member} woke up")
                }
            }
            TraceKind::MemberEvicted { member } => {
                format!("#{member} evicted: no heartbeat within the session timeout")
            }
            TraceKind::PollTimeout { member } => format!(
                "#{member} left the group: still on its batch max_poll_interval after polling it"
            ),
            TraceKind::CommitFailed { member } => format!(
                "#{member}'s commit failed (no longer in the group): it rejoins"
            ),
            TraceKind::ProducerEpochBumped {
                partition,
                epoch,
                fenced,
            } => format!(
                "the new owner of partition {partition} bumped its producer epoch to {epoch}: #{fenced}'s open transaction aborted"
            ),
            TraceKind::ProducerFenced { member, epoch } => format!(
                "#{member} fenced (ProducerFenced, epoch now {epoch}): its transaction aborted, it stops"
            ),
            TraceKind::AlertFired { alert, value_milli } => format!(
                "alert {} FIRED: {}{}",
                self.alert_name(alert),
                self.alert_value_text(alert, value_milli),
                self.cfg
                    .alerts
                    .get(alert as usize)
                    .map(|r| format!(" ({})", r.describe()))
                    .unwrap_or_default()
            ),
            TraceKind::AlertResolved { alert, value_milli } => format!(
                "alert {} resolved: {}",
                self.alert_name(alert),
                self.alert_value_text(alert, value_milli)
            ),
            TraceKind::VersionConflict {
                member,
                expected,
                actual,
            } => format!(
                "#{member}'s append refused: it decided on version {expected} of the aggregate, another writer moved it to {actual}; it reloads and processes the record again"
            ),
            TraceKind::StaleWrite {
                member,
                read,
                actual,
            } => format!(
                "#{member} appended on version {read} of the aggregate, now at {actual}: a stale write (no expected-version check)"
            ),
            TraceKind::SnapshotSaved { member, version } => format!(
                "#{member}'s append took the aggregate to version {version}: a snapshot is saved, later loads replay only the events after it"
            ),
            TraceKind::TxnTimedOut { member } => format!(
                "#{member}'s transaction was open transaction_timeout: the coordinator aborts it"
            ),
            TraceKind::TxnAborted { member, records } => {
                format!("#{member}'s transaction aborted: {records} output(s) will never be read committed")
            }
            TraceKind::LeaderCrashed {
                partition,
                truncated,
            } => format!(
                "leader of partition {partition} crashed: the new leader truncated {truncated} record(s) past the high watermark"
            ),
            TraceKind::PubsubPublished { receivers, missed } => {
                format!("PUBLISH reached {receivers} subscription(s), {missed} away")
            }
            TraceKind::PubsubBuffered {
                pattern,
                bytes,
                buffer_bytes,
            } => format!(
                "{} of {bytes} B buffered (output buffer {buffer_bytes} B)",
                if pattern { "pmessage" } else { "message" }
            ),
            TraceKind::PubsubMissed => "missed: subscriber away".into(),
            TraceKind::SubscriberDisconnected {
                cause,
                lost,
                buffer_bytes,
            } => format!(
                "disconnected ({}): {lost} message(s) lost, {buffer_bytes} B buffered",
                match cause {
                    DisconnectCause::Command => "command",
                    DisconnectCause::HardLimit => "output buffer hard limit",
                    DisconnectCause::SoftLimit => "output buffer soft limit",
                }
            ),
            TraceKind::SubscriberReconnected => "reconnected and subscribed again".into(),
            TraceKind::XAdded { ms, seq, length } => {
                format!("XADD {ms}-{seq} (length {length})")
            }
            TraceKind::XTrimmed { count, length } => {
                format!("MAXLEN trimmed {count} entr(ies) (length {length})")
            }
            TraceKind::XDelivered {
                consumer,
                ms,
                seq,
                deliveries,
            } => format!("{ms}-{seq} delivered to c{consumer} (delivery {deliveries})"),
            TraceKind::XAcked {
                consumer,
                ms,
                seq,
                acked,
            } => format!(
                "c{consumer} handled {ms}-{seq}, XACK {}",
                if acked { "1" } else { "0 (no longer pending)" }
            ),
            TraceKind::XClaimed {
                consumer,
                from,
                ms,
                seq,
                idle_us,
            } => format!(
                "XAUTOCLAIM: c{consumer} took {ms}-{seq} from c{from} after {:.3} ms idle",
                idle_us as f64 / 1000.0
            ),
            TraceKind::XClaimDeleted { consumer, ms, seq } => {
                format!("XAUTOCLAIM by c{consumer}: {ms}-{seq} was trimmed, dropped from the PEL")
            }
            TraceKind::XConsumerCrashed { consumer, pending } => {
                format!("c{consumer} crashed holding {pending} pending entr(ies)")
            }
            TraceKind::XConsumerRestarted { consumer } => format!("c{consumer} restarted"),
            TraceKind::SqsDeduplicated => {
                "deduplication id seen in the last 5 minutes: accepted, not enqueued".into()
            }
            TraceKind::SqsVisibleAgain { receive_count } => format!(
                "visibility timeout ran out: visible again (received {receive_count} time(s))"
            ),
            TraceKind::SqsDeleteStale { instance } => {
                format!("delete from #{instance} with an out-of-date receipt handle: not deleted")
            }
            TraceKind::SqsDeleteMissed { instance } => {
                format!("delete from #{instance} missed a stored copy: it will be received again")
            }
            TraceKind::SqsMovedToDlq { dlq, receive_count } => format!(
                "received {receive_count} time(s) (maxReceiveCount): moved to {}",
                self.node_name(dlq)
            ),
            TraceKind::SqsRedriven { to } => format!("redriven to {}", self.node_name(to)),
            TraceKind::SqsEmptyReceive {
                consumer,
                instance,
                waited_us,
            } => format!(
                "empty receive by {}#{instance} after waiting {}",
                self.node_name(consumer),
                crate::scenario::Duration(waited_us)
            ),
            TraceKind::SqsVisibilityChanged { timeout_us } => format!(
                "visibility changed: visible in {}",
                crate::scenario::Duration(timeout_us)
            ),
            TraceKind::BreakerOpened { failures, open_us } => format!(
                "circuit breaker opened after {failures} failure(s) in a row: no deliveries for {}",
                crate::scenario::Duration(open_us)
            ),
            TraceKind::BreakerHalfOpen { probes } => {
                format!("circuit breaker half-open: {probes} probe delivery(ies) let through")
            }
            TraceKind::BreakerClosed { probes } => {
                format!("circuit breaker closed: {probes} probe(s) succeeded, deliveries flow again")
            }
            TraceKind::SqsVisibilityRefused { timeout_us } => format!(
                "visibility change to {} refused: past 12 h from the receive",
                crate::scenario::Duration(timeout_us)
            ),
            TraceKind::SqsDeleteThrottled { instance } => format!(
                "#{instance}'s DeleteMessage over the FIFO throughput limit: retried next second"
            ),
            TraceKind::SqsThrottled { send } => format!(
                "{} over the FIFO throughput limit: retried next second",
                if send {
                    "SendMessage"
                } else {
                    "ReceiveMessage"
                }
            ),
            TraceKind::SqsDelayEnded => "delay over: visible".into(),
            TraceKind::PulsarStored { partition, offset } => {
                format!("stored at {}", ppos(partition, offset))
            }
            TraceKind::PulsarDelivered {
                consumer,
                partition,
                offset,
                redeliveries,
            } => format!(
                "{} dispatched to c{consumer}{}",
                ppos(partition, offset),
                if redeliveries > 0 {
                    format!(" (redelivery count {redeliveries})")
                } else {
                    String::new()
                }
            ),
            TraceKind::PulsarAcked {
                consumer,
                partition,
                offset,
                cumulative,
            } => format!(
                "c{consumer} handled {} and acked it{}",
                ppos(partition, offset),
                if cumulative { " cumulatively" } else { "" }
            ),
            TraceKind::PulsarNacked {
                consumer,
                partition,
                offset,
                delay_us,
            } => format!(
                "c{consumer} failed {}: negative ack, redelivery in {:.3} s",
                ppos(partition, offset),
                delay_us as f64 / 1e6
            ),
            TraceKind::PulsarAckTimedOut {
                consumer,
                partition,
                offset,
            } => format!(
                "ack timeout: c{consumer} never acked {}, redelivered",
                ppos(partition, offset)
            ),
            TraceKind::PulsarDeadLettered {
                partition,
                offset,
                deliveries,
            } => format!(
                "{} to the dead-letter topic after {deliveries} deliveries",
                ppos(partition, offset)
            ),
            TraceKind::PulsarReconsumeLater {
                partition,
                offset,
                reconsume,
                delay_us,
                retry_offset,
            } => format!(
                "reconsumeLater #{reconsume}: {} to the retry-letter topic at offset {retry_offset}, back in {:.3} s",
                ppos(partition, offset),
                delay_us as f64 / 1e6
            ),
            TraceKind::PulsarConsumerCrashed { consumer, unacked } => {
                format!("c{consumer} crashed: {unacked} unacked message(s) go out again")
            }
            TraceKind::PulsarConsumerRestarted { consumer } => {
                format!("c{consumer} subscribed again")
            }
            TraceKind::PulsarActiveConsumer {
                partition,
                consumer,
            } => format!("c{consumer} is now the active consumer of partition {partition}"),
            TraceKind::PulsarRewound { consumer, count } => {
                format!("cursor rewound for c{consumer}: {count} unacked message(s) go out again")
            }
            TraceKind::PulsarHeld { backlog } => {
                format!("backlog quota reached ({backlog}): the send is held")
            }
            TraceKind::PulsarEvicted { count } => {
                format!("backlog quota: {count} oldest message(s) evicted")
            }
            TraceKind::PulsarBlocked {
                consumer,
                partition,
                unacked,
            } => {
                let on = pulsar_log_name(partition);
                match consumer {
                    crate::engine::model::pulsar_unacked::WHOLE_SUBSCRIPTION => format!(
                        "subscription blocked on {on}: {unacked} unacked messages reached its cap, nothing of it is dispatched"
                    ),
                    c => format!("c{c} blocked on {on}: {unacked} unacked messages reached its cap, it gets nothing more of it"),
                }
            }
            TraceKind::PulsarUnblocked {
                consumer,
                partition,
                unacked,
            } => {
                let on = pulsar_log_name(partition);
                match consumer {
                    crate::engine::model::pulsar_unacked::WHOLE_SUBSCRIPTION => format!(
                        "subscription unblocked on {on}: {unacked} unacked, under half its cap"
                    ),
                    c => format!("c{c} unblocked on {on}: {unacked} unacked, half its cap or less"),
                }
            }
            TraceKind::DeliveryHeldBack { instance, held_us } => format!(
                "delivery to #{instance} held back on the wire for {}: later deliveries overtake it",
                crate::scenario::Duration(held_us)
            ),
            TraceKind::ChannelClosed { instance, requeued } => format!(
                "#{instance}'s ack arrived twice: unknown delivery tag (PRECONDITION_FAILED), channel closed, {requeued} unacked message(s) requeued"
            ),
            TraceKind::AckTimedOut {
                instance,
                requeued,
                timeout_us,
            } => format!(
                "#{instance} held it unacked for more than the consumer timeout ({}): channel closed (PRECONDITION_FAILED), {requeued} unacked message(s) requeued",
                crate::scenario::Duration(timeout_us)
            ),
            TraceKind::FinishedAfterClose { instance, effect } => format!(
                "#{instance}'s handler finished it after its channel closed: {}; the ack had no channel to go to",
                if effect { "side effect done (again, if it was redelivered)" } else { "no side effect (failed or deduplicated)" }
            ),
            TraceKind::AckDelayed { instance, delay_us } => format!(
                "ack from #{instance} on its way for {}: still unacked",
                crate::scenario::Duration(delay_us)
            ),
            TraceKind::FollowerStalled {
                partition,
                stall_us,
            } => format!(
                "a follower of partition {partition} stalled for {}",
                crate::scenario::Duration(stall_us)
            ),
            TraceKind::IsrShrunk { partition, isr } => format!(
                "a follower of partition {partition} fell out of the ISR (lagged past replica_lag_max): ISR now {isr}"
            ),
            TraceKind::IsrExpanded { partition, isr } => format!(
                "a follower of partition {partition} caught up and re-joined the ISR: ISR now {isr}"
            ),
            TraceKind::UncleanLeaderBack {
                partition,
                truncated,
            } => format!(
                "partition {partition} was offline; the first replica back leads (unclean election) and lacks {truncated} record(s) written after it crashed: gone"
            ),
        };
        format!("{} {node}: {msg}{detail}", ev.t)
    }
}

/// A Pulsar position for people: `p<partition>:<offset>`, or `retry:<offset>`.
fn ppos(partition: u32, offset: u64) -> String {
    if partition == u32::MAX {
        format!("retry:{offset}")
    } else {
        format!("p{partition}:{offset}")
    }
}

/// A Pulsar log for people: `p<partition>`, or `the retry topic`.
fn pulsar_log_name(partition: u32) -> String {
    if partition == u32::MAX {
        "the retry topic".into()
    } else {
        format!("p{partition}")
    }
}
