//! Why a message left the normal path: the reasons a message is dropped or
//! dead-lettered, with their report names (`dropped_by_reason`, the trace's
//! `reason`). A reason's index is its position in `Reason::ALL`, fixed: the
//! trace hash encodes it, so new reasons are only ever appended.

use serde::Serialize;

/// Why a message left the normal path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Nacked or rejected without requeue (RabbitMQ `rejected`).
    Rejected,
    /// TTL ran out at the head of a queue (RabbitMQ `expired`).
    Expired,
    /// Pushed out by `x-max-length` (RabbitMQ `maxlen`).
    Maxlen,
    /// Returned more times than `x-delivery-limit` (RabbitMQ `delivery_limit`).
    DeliveryLimit,
    /// No binding matched and no alternate exchange took it.
    Unroutable,
    /// A full queue with `reject-publish` refused it.
    QueueFull,
    /// Auto-acked and then the consumer crashed or failed: the broker had already forgotten it.
    LostAfterAutoAck,
    /// Retries exhausted and the queue has no dead-letter exchange.
    RetriesExhausted,
    /// Removed by a purge command.
    Purged,
    /// Lost on the network between producer and broker.
    NetworkLost,
    /// Lost when the broker crashed: a transient message, or in a transient queue.
    BrokerCrash,
    /// Published while the broker was down.
    BrokerDown,
    /// Redis PUBLISH to a channel nobody subscribes to (PUBLISH returned 0).
    NoSubscribers,
    /// A Redis subscriber was away: it missed the message, or lost what its
    /// output buffer held (and what it was handling) when its connection dropped.
    SubscriberDisconnected,
    /// A Redis subscriber's output buffer passed a `client-output-buffer-limit`:
    /// disconnected, its buffer lost.
    OutputBufferLimit,
    /// Trimmed from a Redis stream by MAXLEN before a group read it.
    StreamTrimmed,
    /// A Redis stream consumer crashed while handling it (the entry stays pending).
    ConsumerCrashed,
    /// An SQS FIFO send whose deduplication id was accepted in the last 5
    /// minutes: accepted, not enqueued.
    SqsDeduplicated,
    /// Pulsar: the topic's backlog quota (`producer_exception`) refused the send.
    BacklogQuota,
    /// Pulsar: a send held by the backlog quota (`producer_request_hold`)
    /// outlived the producer's 30 s send timeout.
    SendTimeout,
    /// Pulsar: evicted from a subscription's backlog (`consumer_backlog_eviction`).
    BacklogEvicted,
    /// Pulsar: sent to a dead-letter topic that nothing reads.
    DeadLetterTopic,
    /// Pulsar: a failed message acknowledged by a later cumulative ack,
    /// never handled again.
    CumulativeAcked,
    /// SQS: a message without a key (MessageGroupId) reached a FIFO queue
    /// through an exchange; SQS refuses such a send (`MissingParameter`).
    SqsMissingGroupId,
}

impl Reason {
    pub const ALL: [Reason; 24] = [
        Reason::Rejected,
        Reason::Expired,
        Reason::Maxlen,
        Reason::DeliveryLimit,
        Reason::Unroutable,
        Reason::QueueFull,
        Reason::LostAfterAutoAck,
        Reason::RetriesExhausted,
        Reason::Purged,
        Reason::NetworkLost,
        Reason::BrokerCrash,
        Reason::BrokerDown,
        Reason::NoSubscribers,
        Reason::SubscriberDisconnected,
        Reason::OutputBufferLimit,
        Reason::StreamTrimmed,
        Reason::ConsumerCrashed,
        Reason::SqsDeduplicated,
        Reason::BacklogQuota,
        Reason::SendTimeout,
        Reason::BacklogEvicted,
        Reason::DeadLetterTopic,
        Reason::CumulativeAcked,
        Reason::SqsMissingGroupId,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Reason::Rejected => "rejected",
            Reason::Expired => "expired",
            Reason::Maxlen => "maxlen",
            Reason::DeliveryLimit => "delivery_limit",
            Reason::Unroutable => "unroutable",
            Reason::QueueFull => "queue_full",
            Reason::LostAfterAutoAck => "lost_after_auto_ack",
            Reason::RetriesExhausted => "retries_exhausted",
            Reason::Purged => "purged",
            Reason::NetworkLost => "network_lost",
            Reason::BrokerCrash => "broker_crash",
            Reason::BrokerDown => "broker_down",
            Reason::NoSubscribers => "no_subscribers",
            Reason::SubscriberDisconnected => "subscriber_disconnected",
            Reason::OutputBufferLimit => "output_buffer_limit",
            Reason::StreamTrimmed => "stream_trimmed",
            Reason::ConsumerCrashed => "consumer_crashed",
            Reason::SqsDeduplicated => "sqs_deduplicated",
            Reason::BacklogQuota => "backlog_quota",
            Reason::SendTimeout => "send_timeout",
            Reason::BacklogEvicted => "backlog_evicted",
            Reason::DeadLetterTopic => "dead_letter_topic",
            Reason::CumulativeAcked => "cumulative_acked",
            Reason::SqsMissingGroupId => "sqs_missing_group_id",
        }
    }
    pub fn index(self) -> usize {
        self as usize
    }
}
