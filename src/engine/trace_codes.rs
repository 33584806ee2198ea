//! The trace kinds' names and canonical encoding (split from `trace.rs` to
//! keep files small): `TraceKind::name` and `NAMES` for the JSON and the UI's
//! filters, and `TraceKind::fields`, the code and two field words that the
//! trace hash folds in. A kind's code never changes once released (golden
//! hashes depend on it): new kinds take new codes — 1..=39 the AMQP family and
//! the guarantees, 40..=59 Amazon SQS, 60..=79 Redis, 80..=89 and 103..=107
//! the log's delivery mechanics, 90..=102 Apache Pulsar, 108 SQS again,
//! 109..=111 consumers' circuit breakers, 112 SQS again, 113..=114 the
//! groups' poll timer, 115 the transaction timeout, 116..=117 alert rules,
//! 118..=120 event stores, 121..=122 Pulsar's unacknowledged-message caps,
//! 123..=124 RabbitMQ's delivery acknowledgement timeout, 125 an unclean
//! leader back; the next new kind takes 126 (`trace_tests.rs` checks that no two arms share a code).

use super::trace::{NodeId, TraceKind};

impl TraceKind {
    pub fn name(&self) -> &'static str {
        match self {
            TraceKind::Published { .. } => "published",
            TraceKind::Routed { .. } => "routed",
            TraceKind::Unroutable { .. } => "unroutable",
            TraceKind::Copied { .. } => "copied",
            TraceKind::Enqueued { .. } => "enqueued",
            TraceKind::Requeued { .. } => "requeued",
            TraceKind::Delivered { .. } => "delivered",
            TraceKind::Acked { .. } => "acked",
            TraceKind::Processed { .. } => "processed",
            TraceKind::Failed { .. } => "failed",
            TraceKind::Nacked { .. } => "nacked",
            TraceKind::RetryScheduled { .. } => "retry_scheduled",
            TraceKind::Retried { .. } => "retried",
            TraceKind::Expired => "expired",
            TraceKind::DeadLettered { .. } => "dead_lettered",
            TraceKind::Dropped { .. } => "dropped",
            TraceKind::Crashed { .. } => "crashed",
            TraceKind::Restarted { .. } => "restarted",
            TraceKind::CommandApplied { .. } => "command_applied",
            TraceKind::Appended { .. } => "appended",
            TraceKind::Fetched { .. } => "fetched",
            TraceKind::Committed { .. } => "committed",
            TraceKind::RebalanceStarted { .. } => "rebalance_started",
            TraceKind::RebalanceCompleted { .. } => "rebalance_completed",
            TraceKind::Assigned { .. } => "assigned",
            TraceKind::Revoked { .. } => "revoked",
            TraceKind::RetentionDeleted { .. } => "retention_deleted",
            TraceKind::Compacted { .. } => "compacted",
            TraceKind::Seeked { .. } => "seeked",
            TraceKind::SentToRetryTopic { .. } => "sent_to_retry_topic",
            TraceKind::SentToDeadLetterTopic { .. } => "sent_to_dead_letter_topic",
            TraceKind::NetworkDuplicated { .. } => "network_duplicated",
            TraceKind::ConfirmMissing { .. } => "confirm_missing",
            TraceKind::Resent { .. } => "resent",
            TraceKind::GaveUp { .. } => "gave_up",
            TraceKind::Deduplicated { .. } => "deduplicated",
            TraceKind::AckLost { .. } => "ack_lost",
            TraceKind::BrokerCrashed { .. } => "broker_crashed",
            TraceKind::BrokerRestarted => "broker_restarted",
            TraceKind::LeaderCrashed { .. } => "leader_crashed",
            TraceKind::TxnCommitted { .. } => "txn_committed",
            TraceKind::TxnAborted { .. } => "txn_aborted",
            TraceKind::TxnTimedOut { .. } => "txn_timed_out",
            TraceKind::AlertFired { .. } => "alert_fired",
            TraceKind::AlertResolved { .. } => "alert_resolved",
            TraceKind::VersionConflict { .. } => "version_conflict",
            TraceKind::StaleWrite { .. } => "stale_write",
            TraceKind::SnapshotSaved { .. } => "snapshot_saved",
            TraceKind::DeliveredTwice { .. } => "delivered_twice",
            TraceKind::MemberPaused { .. } => "member_paused",
            TraceKind::MemberResumed { .. } => "member_resumed",
            TraceKind::MemberEvicted { .. } => "member_evicted",
            TraceKind::PollTimeout { .. } => "poll_timeout",
            TraceKind::CommitFailed { .. } => "commit_failed",
            TraceKind::ProducerEpochBumped { .. } => "producer_epoch_bumped",
            TraceKind::ProducerFenced { .. } => "producer_fenced",
            TraceKind::PubsubPublished { .. } => "pubsub_published",
            TraceKind::PubsubBuffered { .. } => "pubsub_buffered",
            TraceKind::PubsubMissed => "pubsub_missed",
            TraceKind::SubscriberDisconnected { .. } => "subscriber_disconnected",
            TraceKind::SubscriberReconnected => "subscriber_reconnected",
            TraceKind::XAdded { .. } => "xadded",
            TraceKind::XTrimmed { .. } => "xtrimmed",
            TraceKind::XDelivered { .. } => "xdelivered",
            TraceKind::XAcked { .. } => "xacked",
            TraceKind::XClaimed { .. } => "xclaimed",
            TraceKind::XClaimDeleted { .. } => "xclaim_deleted",
            TraceKind::XConsumerCrashed { .. } => "xconsumer_crashed",
            TraceKind::XConsumerRestarted { .. } => "xconsumer_restarted",
            TraceKind::SqsDeduplicated => "sqs_deduplicated",
            TraceKind::SqsVisibleAgain { .. } => "sqs_visible_again",
            TraceKind::SqsDeleteStale { .. } => "sqs_delete_stale",
            TraceKind::SqsDeleteMissed { .. } => "sqs_delete_missed",
            TraceKind::SqsMovedToDlq { .. } => "sqs_moved_to_dlq",
            TraceKind::SqsRedriven { .. } => "sqs_redriven",
            TraceKind::SqsEmptyReceive { .. } => "sqs_empty_receive",
            TraceKind::SqsVisibilityChanged { .. } => "sqs_visibility_changed",
            TraceKind::SqsVisibilityRefused { .. } => "sqs_visibility_refused",
            TraceKind::BreakerOpened { .. } => "breaker_opened",
            TraceKind::BreakerHalfOpen { .. } => "breaker_half_open",
            TraceKind::BreakerClosed { .. } => "breaker_closed",
            TraceKind::SqsDeleteThrottled { .. } => "sqs_delete_throttled",
            TraceKind::SqsThrottled { .. } => "sqs_throttled",
            TraceKind::SqsDelayEnded => "sqs_delay_ended",
            TraceKind::PulsarStored { .. } => "pulsar_stored",
            TraceKind::PulsarDelivered { .. } => "pulsar_delivered",
            TraceKind::PulsarAcked { .. } => "pulsar_acked",
            TraceKind::PulsarNacked { .. } => "pulsar_nacked",
            TraceKind::PulsarAckTimedOut { .. } => "pulsar_ack_timed_out",
            TraceKind::PulsarDeadLettered { .. } => "pulsar_dead_lettered",
            TraceKind::PulsarReconsumeLater { .. } => "pulsar_reconsume_later",
            TraceKind::PulsarConsumerCrashed { .. } => "pulsar_consumer_crashed",
            TraceKind::PulsarConsumerRestarted { .. } => "pulsar_consumer_restarted",
            TraceKind::PulsarActiveConsumer { .. } => "pulsar_active_consumer",
            TraceKind::PulsarRewound { .. } => "pulsar_rewound",
            TraceKind::PulsarHeld { .. } => "pulsar_held",
            TraceKind::PulsarEvicted { .. } => "pulsar_evicted",
            TraceKind::PulsarBlocked { .. } => "pulsar_blocked",
            TraceKind::PulsarUnblocked { .. } => "pulsar_unblocked",
            TraceKind::DeliveryHeldBack { .. } => "delivery_held_back",
            TraceKind::ChannelClosed { .. } => "channel_closed",
            TraceKind::AckTimedOut { .. } => "ack_timed_out",
            TraceKind::FinishedAfterClose { .. } => "finished_after_close",
            TraceKind::AckDelayed { .. } => "ack_delayed",
            TraceKind::FollowerStalled { .. } => "follower_stalled",
            TraceKind::IsrShrunk { .. } => "isr_shrunk",
            TraceKind::IsrExpanded { .. } => "isr_expanded",
            TraceKind::UncleanLeaderBack { .. } => "unclean_leader_back",
        }
    }

    /// All kind names, for filters in the UI.
    pub const NAMES: [&'static str; 108] = [
        "published",
        "routed",
        "unroutable",
        "copied",
        "enqueued",
        "requeued",
        "delivered",
        "acked",
        "processed",
        "failed",
        "nacked",
        "retry_scheduled",
        "retried",
        "expired",
        "dead_lettered",
        "dropped",
        "crashed",
        "restarted",
        "command_applied",
        "appended",
        "fetched",
        "committed",
        "rebalance_started",
        "rebalance_completed",
        "assigned",
        "revoked",
        "retention_deleted",
        "compacted",
        "seeked",
        "sent_to_retry_topic",
        "sent_to_dead_letter_topic",
        "network_duplicated",
        "confirm_missing",
        "resent",
        "gave_up",
        "deduplicated",
        "ack_lost",
        "broker_crashed",
        "broker_restarted",
        "leader_crashed",
        "txn_committed",
        "txn_aborted",
        "txn_timed_out",
        "delivered_twice",
        "member_paused",
        "member_resumed",
        "member_evicted",
        "poll_timeout",
        "commit_failed",
        "producer_epoch_bumped",
        "producer_fenced",
        "pubsub_published",
        "pubsub_buffered",
        "pubsub_missed",
        "subscriber_disconnected",
        "subscriber_reconnected",
        "xadded",
        "xtrimmed",
        "xdelivered",
        "xacked",
        "xclaimed",
        "xclaim_deleted",
        "xconsumer_crashed",
        "xconsumer_restarted",
        "sqs_deduplicated",
        "sqs_visible_again",
        "sqs_delete_stale",
        "sqs_delete_missed",
        "sqs_moved_to_dlq",
        "sqs_redriven",
        "sqs_empty_receive",
        "sqs_visibility_changed",
        "sqs_throttled",
        "sqs_delay_ended",
        "pulsar_stored",
        "pulsar_delivered",
        "pulsar_acked",
        "pulsar_nacked",
        "pulsar_ack_timed_out",
        "pulsar_dead_lettered",
        "pulsar_reconsume_later",
        "pulsar_consumer_crashed",
        "pulsar_consumer_restarted",
        "pulsar_active_consumer",
        "pulsar_rewound",
        "pulsar_held",
        "pulsar_evicted",
        "delivery_held_back",
        "channel_closed",
        "ack_delayed",
        "ack_timed_out",
        "finished_after_close",
        "follower_stalled",
        "isr_shrunk",
        "isr_expanded",
        "sqs_visibility_refused",
        "breaker_opened",
        "breaker_half_open",
        "breaker_closed",
        "sqs_delete_throttled",
        "alert_fired",
        "alert_resolved",
        "version_conflict",
        "stale_write",
        "snapshot_saved",
        "pulsar_blocked",
        "pulsar_unblocked",
        "unclean_leader_back",
    ];

    /// Canonical encoding of this kind: its code (see the module header) and two field
    /// words. Small fields share a word (low 32 bits, then high 32 bits).
    #[inline(always)]
    pub(crate) fn fields(&self) -> (u64, u64, u64) {
        let opt = |o: Option<u64>| o.unwrap_or(u64::MAX);
        let node = |n: NodeId| n.0 as u64;
        let pair = |lo: u32, hi: u64| lo as u64 | hi << 32;
        let sid = |ms: u64, seq: u64| ms.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ seq;
        let pos = |partition: u32, offset: u64| (partition as u64) << 48 ^ offset;
        match *self {
            TraceKind::Published { to, parent } => (1, node(to), opt(parent)),
            TraceKind::Routed { queues } => (2, queues as u64, 0),
            TraceKind::Unroutable { alternate } => (3, opt(alternate.map(node)), 0),
            TraceKind::Copied { copy } => (4, copy, 0),
            TraceKind::Enqueued { depth } => (5, depth as u64, 0),
            TraceKind::Requeued { depth } => (6, depth as u64, 0),
            TraceKind::Delivered {
                consumer,
                instance,
                attempt,
                redelivered,
            } => (
                7,
                pair(consumer.0, instance as u64),
                pair(attempt, redelivered as u64),
            ),
            TraceKind::Acked { instance } => (8, instance as u64, 0),
            TraceKind::Processed {
                instance,
                service_us,
            } => (9, instance as u64, service_us),
            TraceKind::Failed { instance, attempt } => (10, instance as u64, attempt as u64),
            TraceKind::Nacked { instance, requeue } => (11, instance as u64, requeue as u64),
            TraceKind::RetryScheduled { attempt, delay_us } => (12, attempt as u64, delay_us),
            TraceKind::Retried { attempt } => (13, attempt as u64, 0),
            TraceKind::Expired => (14, 0, 0),
            TraceKind::DeadLettered {
                reason,
                exchange,
                deaths,
            } => (15, pair(exchange.0, reason as u64), deaths as u64),
            TraceKind::Dropped { reason } => (16, reason as u64, 0),
            TraceKind::Crashed {
                instance,
                returned,
                lost,
            } => (17, instance as u64, pair(returned, lost as u64)),
            TraceKind::Restarted { instance } => (18, instance as u64, 0),
            TraceKind::CommandApplied { index, scheduled } => (19, index as u64, scheduled as u64),
            // A tombstone flag in the high word: plain records hash as before it existed.
            TraceKind::Appended {
                partition,
                offset,
                tombstone,
            } => (20, pair(partition, tombstone as u64), offset),
            TraceKind::Fetched {
                member,
                topic,
                partition,
                from,
                count,
            } => {
                // Five fields in two words: the second folds count and topic
                // into the offset with a multiply (deterministic, integer only).
                let extra = pair(count, node(topic)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                (21, pair(member, partition as u64), from ^ extra)
            }
            TraceKind::Committed {
                topic,
                partition,
                offset,
            } => (22, pair(partition, node(topic)), offset),
            TraceKind::RebalanceStarted {
                generation,
                members,
            } => (23, generation as u64, members as u64),
            TraceKind::RebalanceCompleted { generation } => (24, generation as u64, 0),
            TraceKind::Assigned {
                member,
                topic,
                partition,
            } => (25, pair(member, partition as u64), node(topic)),
            TraceKind::Revoked {
                member,
                topic,
                partition,
            } => (26, pair(member, partition as u64), node(topic)),
            TraceKind::RetentionDeleted {
                partition,
                count,
                log_start,
            } => (27, pair(partition, count as u64), log_start),
            TraceKind::Compacted {
                partition,
                removed,
                tombstones,
            } => (28, partition as u64, pair(removed, tombstones as u64)),
            TraceKind::Seeked {
                topic,
                partition,
                offset,
            } => (29, pair(partition, node(topic)), offset),
            TraceKind::SentToRetryTopic {
                topic,
                copy,
                attempt,
            } => (30, pair(attempt, node(topic)), copy),
            TraceKind::SentToDeadLetterTopic {
                topic,
                copy,
                attempts,
            } => (31, pair(attempts, node(topic)), copy),
            TraceKind::NetworkDuplicated { copy } => (32, copy, 0),
            TraceKind::ConfirmMissing { original, nacked } => (33, original, nacked as u64),
            TraceKind::Resent { original, attempt } => (34, original, attempt as u64),
            TraceKind::GaveUp { original, sends } => (35, original, sends as u64),
            TraceKind::Deduplicated { instance, original } => (36, original, instance as u64),
            TraceKind::AckLost { instance } => (37, instance as u64, 0),
            TraceKind::BrokerCrashed { lost } => (38, lost as u64, 0),
            TraceKind::BrokerRestarted => (39, 0, 0),
            // Codes 40..=79 are kept for the SQS and Redis models.
            TraceKind::LeaderCrashed {
                partition,
                truncated,
            } => (80, partition as u64, truncated as u64),
            TraceKind::TxnCommitted { member, records } => (81, member as u64, records as u64),
            TraceKind::TxnAborted { member, records } => (82, member as u64, records as u64),
            TraceKind::DeliveredTwice { instance } => (83, instance as u64, 0),
            // Paused members and zombie fencing (model::txn_fence).
            TraceKind::MemberPaused { member, pause_us } => (87, member as u64, pause_us),
            TraceKind::MemberResumed { member, evicted } => (88, member as u64, evicted as u64),
            TraceKind::MemberEvicted { member } => (89, member as u64, 0),
            TraceKind::ProducerEpochBumped {
                partition,
                epoch,
                fenced,
            } => (106, pair(fenced, epoch as u64), partition as u64),
            TraceKind::ProducerFenced { member, epoch } => (107, member as u64, epoch as u64),
            TraceKind::SqsVisibilityRefused { timeout_us } => (108, timeout_us, 0),
            TraceKind::BreakerOpened { failures, open_us } => (109, failures as u64, open_us),
            TraceKind::BreakerHalfOpen { probes } => (110, probes as u64, 0),
            TraceKind::BreakerClosed { probes } => (111, probes as u64, 0),
            TraceKind::SqsDeleteThrottled { instance } => (112, instance as u64, 0),
            // Consumer groups' poll timer (model::poll_timeout).
            TraceKind::PollTimeout { member } => (113, member as u64, 0),
            TraceKind::CommitFailed { member } => (114, member as u64, 0),
            TraceKind::TxnTimedOut { member } => (115, member as u64, 0),
            // Alert rules (alerts.rs).
            TraceKind::AlertFired { alert, value_milli } => (116, alert as u64, value_milli),
            TraceKind::AlertResolved { alert, value_milli } => (117, alert as u64, value_milli),
            // Event-store appends (model::event_store).
            TraceKind::VersionConflict {
                member,
                expected,
                actual,
            } => (118, member as u64, pair(expected, actual as u64)),
            TraceKind::StaleWrite {
                member,
                read,
                actual,
            } => (119, member as u64, pair(read, actual as u64)),
            TraceKind::SnapshotSaved { member, version } => (120, member as u64, version as u64),
            // Redis: codes 60..=79. A stream id folds into one word
            // (ms times an odd constant, xor seq): deterministic, integer only.
            TraceKind::PubsubPublished { receivers, missed } => {
                (60, receivers as u64, missed as u64)
            }
            TraceKind::PubsubBuffered {
                pattern,
                bytes,
                buffer_bytes,
            } => (61, pair(bytes, pattern as u64), buffer_bytes),
            TraceKind::PubsubMissed => (62, 0, 0),
            TraceKind::SubscriberDisconnected {
                cause,
                lost,
                buffer_bytes,
            } => (63, pair(lost, cause as u64), buffer_bytes),
            TraceKind::SubscriberReconnected => (64, 0, 0),
            TraceKind::XAdded { ms, seq, length } => (70, sid(ms, seq), length),
            TraceKind::XTrimmed { count, length } => (71, count as u64, length),
            TraceKind::XDelivered {
                consumer,
                ms,
                seq,
                deliveries,
            } => (72, pair(consumer, deliveries as u64), sid(ms, seq)),
            TraceKind::XAcked {
                consumer,
                ms,
                seq,
                acked,
            } => (73, pair(consumer, acked as u64), sid(ms, seq)),
            TraceKind::XClaimed {
                consumer,
                from,
                ms,
                seq,
                idle_us,
            } => (
                74,
                pair(consumer, from as u64),
                sid(ms, seq) ^ idle_us.wrapping_mul(0xff51_afd7_ed55_8ccd),
            ),
            TraceKind::XClaimDeleted { consumer, ms, seq } => (75, consumer as u64, sid(ms, seq)),
            TraceKind::XConsumerCrashed { consumer, pending } => {
                (76, consumer as u64, pending as u64)
            }
            TraceKind::XConsumerRestarted { consumer } => (77, consumer as u64, 0),
            // 40..=59: Amazon SQS (model::sqs).
            TraceKind::SqsDeduplicated => (40, 0, 0),
            TraceKind::SqsVisibleAgain { receive_count } => (41, receive_count as u64, 0),
            TraceKind::SqsDeleteStale { instance } => (42, instance as u64, 0),
            TraceKind::SqsDeleteMissed { instance } => (43, instance as u64, 0),
            TraceKind::SqsMovedToDlq { dlq, receive_count } => {
                (44, node(dlq), receive_count as u64)
            }
            TraceKind::SqsRedriven { to } => (45, node(to), 0),
            TraceKind::SqsEmptyReceive {
                consumer,
                instance,
                waited_us,
            } => (46, pair(node(consumer) as u32, instance as u64), waited_us),
            TraceKind::SqsVisibilityChanged { timeout_us } => (47, timeout_us, 0),
            TraceKind::SqsThrottled { send } => (48, send as u64, 0),
            TraceKind::SqsDelayEnded => (49, 0, 0),
            // 90..=102: Apache Pulsar (model::pulsar). A position folds into
            // one word: the partition in the top 16 bits, the offset below.
            TraceKind::PulsarStored { partition, offset } => (90, pos(partition, offset), 0),
            TraceKind::PulsarDelivered {
                consumer,
                partition,
                offset,
                redeliveries,
            } => (
                91,
                pair(consumer, redeliveries as u64),
                pos(partition, offset),
            ),
            TraceKind::PulsarAcked {
                consumer,
                partition,
                offset,
                cumulative,
            } => (
                92,
                pair(consumer, cumulative as u64),
                pos(partition, offset),
            ),
            TraceKind::PulsarNacked {
                consumer,
                partition,
                offset,
                delay_us,
            } => (93, pair(consumer, delay_us), pos(partition, offset)),
            TraceKind::PulsarAckTimedOut {
                consumer,
                partition,
                offset,
            } => (94, consumer as u64, pos(partition, offset)),
            TraceKind::PulsarDeadLettered {
                partition,
                offset,
                deliveries,
            } => (95, deliveries as u64, pos(partition, offset)),
            TraceKind::PulsarReconsumeLater {
                partition,
                offset,
                reconsume,
                delay_us,
                retry_offset,
            } => (
                96,
                pair(reconsume, delay_us),
                pos(partition, offset) ^ retry_offset.wrapping_mul(0xff51_afd7_ed55_8ccd),
            ),
            TraceKind::PulsarConsumerCrashed { consumer, unacked } => {
                (97, consumer as u64, unacked as u64)
            }
            TraceKind::PulsarConsumerRestarted { consumer } => (98, consumer as u64, 0),
            TraceKind::PulsarActiveConsumer {
                partition,
                consumer,
            } => (99, partition as u64, consumer as u64),
            TraceKind::PulsarRewound { consumer, count } => (100, consumer as u64, count as u64),
            TraceKind::PulsarHeld { backlog } => (101, backlog, 0),
            TraceKind::PulsarEvicted { count } => (102, count as u64, 0),
            // 121..=122: Pulsar's caps on unacknowledged messages (model::pulsar_unacked).
            // The partition in the consumer word's top half: 0 (a
            // non-partitioned topic) leaves the word as it was before
            // blocks were per partition.
            TraceKind::PulsarBlocked {
                consumer,
                partition,
                unacked,
            } => (121, pair(consumer, partition as u64), unacked as u64),
            TraceKind::PulsarUnblocked {
                consumer,
                partition,
                unacked,
            } => (122, pair(consumer, partition as u64), unacked as u64),
            // 84..=86: the broker → consumer link and the ack path (model::links).
            TraceKind::DeliveryHeldBack { instance, held_us } => (84, instance as u64, held_us),
            TraceKind::ChannelClosed { instance, requeued } => {
                (85, instance as u64, requeued as u64)
            }
            TraceKind::AckDelayed { instance, delay_us } => (86, instance as u64, delay_us),
            // 123..=124: RabbitMQ's delivery acknowledgement timeout (model::ack_timeout).
            TraceKind::AckTimedOut {
                instance,
                requeued,
                timeout_us,
            } => (123, pair(instance, requeued as u64), timeout_us),
            TraceKind::FinishedAfterClose { instance, effect } => {
                (124, instance as u64, effect as u64)
            }
            // 103..=105: Kafka's ISR shrinking and expanding (model::isr).
            TraceKind::FollowerStalled {
                partition,
                stall_us,
            } => (103, partition as u64, stall_us),
            TraceKind::IsrShrunk { partition, isr } => (104, partition as u64, isr as u64),
            TraceKind::IsrExpanded { partition, isr } => (105, partition as u64, isr as u64),
            TraceKind::UncleanLeaderBack {
                partition,
                truncated,
            } => (125, partition as u64, truncated as u64),
        }
    }
}
