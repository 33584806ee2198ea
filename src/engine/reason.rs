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
}

impl Reason {
    pub const ALL: [Reason; 12] = [
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
        }
    }
    pub fn index(self) -> usize {
        self as usize
    }
}
