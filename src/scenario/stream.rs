//! The log-based half of the scenario format: Kafka-style topics and consumer groups.
//!
//!   producer ──(key → partition)──► topic [p0 | p1 | … ] ──fetch──► consumer_group members
//!                                                         ◄─commit── (offsets per partition)
//!
//! Plain serde data like `types.rs`; every struct rejects unknown fields, and
//! `validate` checks references and limits with path-named errors. Every field
//! is optional or defaulted, so scenarios without topics parse and hash as before.

use super::types::Service;
use super::units::Duration;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A topic: `partitions` append-only logs with offsets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Topic {
    pub id: String,
    /// Number of partitions, 1 to 1024 (Kafka: `num.partitions`).
    pub partitions: u32,
    /// When records are deleted from the head of each partition (moves the log start offset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<Retention>,
    /// `cleanup.policy`: `delete` (default: retention only), `compact` (the
    /// latest record per key, kept for ever: no retention) or
    /// `compact,delete` (both).
    #[serde(default)]
    pub cleanup: Cleanup,
    /// How often compaction runs when `cleanup` is `compact` or
    /// `compact,delete` (default 10s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compaction_interval: Option<Duration>,
    /// `delete.retention.ms`: how long a tombstone (a record with a null value)
    /// stays in a compacted log after it was appended; the first compaction
    /// after that removes it, and with it the last trace of its key (default 1d).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_retention: Option<Duration>,
    /// Replicas of every partition: followers copy the leader after
    /// `replica_lag`; consumers read only below the high watermark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication: Option<Replication>,
}

impl Topic {
    /// The retention that applies: `retention` when the cleanup policy
    /// deletes (`delete`, `compact,delete`); none for `compact` alone, whose
    /// retention settings Kafka accepts and ignores (`UnifiedLog` deletes
    /// segments by time or size only when the policy includes delete).
    pub fn active_retention(&self) -> Option<&Retention> {
        self.retention.as_ref().filter(|_| self.cleanup.deletes())
    }
}

/// `replication.factor`, `min.insync.replicas`, and how far behind the
/// leader the in-sync followers run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Replication {
    /// Replicas per partition, the leader included (1 to 5).
    pub factor: u32,
    /// `min.insync.replicas`: an `acks=all` write needs this many in-sync
    /// replicas, else the producer gets `NotEnoughReplicas` and retries.
    #[serde(default = "one_replica")]
    pub min_insync: u32,
    /// How long after the leader appends a batch the followers have it
    /// (then the high watermark moves past it and `acks=all` is answered).
    #[serde(default = "default_replica_lag")]
    pub replica_lag: Duration,
    /// Followers in the ISR (default: all, `factor − 1`). The others have
    /// fallen out (behind by `out_of_sync_lag`): the high watermark and
    /// `acks=all` then count only the leader and the in-sync followers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_sync: Option<u32>,
    /// How far behind the out-of-sync followers are (default 10 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_of_sync_lag: Option<Duration>,
    /// `unclean.leader.election.enable`: with no in-sync follower left, an
    /// out-of-sync one may become leader (the partition stays available and
    /// loses what it lacked) instead of the partition going offline.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unclean_election: bool,
    /// `replica.lag.time.max.ms` (default 30 s): a follower that has not
    /// caught up to the leader's log end for this long (a `stall_follower`)
    /// is removed from the ISR; it re-joins once it has caught up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_lag_max: Option<Duration>,
}

impl Replication {
    /// In-sync followers.
    pub fn in_sync_followers(&self) -> u32 {
        self.in_sync.unwrap_or(self.factor.saturating_sub(1))
    }
    /// `replica.lag.time.max.ms` in microseconds (Kafka's default 30 s).
    pub fn replica_lag_max_us(&self) -> u64 {
        self.replica_lag_max.map_or(30_000_000, |d| d.us())
    }
}

fn one_replica() -> u32 {
    1
}
fn default_replica_lag() -> Duration {
    Duration::from_ms(10)
}

/// A Kafka producer's `acks`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Acks {
    /// No answer: the producer never knows (and never retries).
    #[serde(rename = "0")]
    Zero,
    /// The leader's answer once it appended.
    #[serde(rename = "1")]
    One,
    /// The answer once every in-sync replica has it (the high watermark passed it).
    #[serde(rename = "all")]
    All,
}

/// Retention by time and/or by records per partition; whichever removes more wins.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// Records older than this are deleted (`retention.ms`), by their
    /// timestamp: the time the producer created them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<Duration>,
    /// At most this many records are kept per partition (Kafka bounds bytes: `retention.bytes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<u32>,
    /// How often time retention is checked (`log.retention.check.interval.ms`; default 1s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_interval: Option<Duration>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Cleanup {
    #[default]
    Delete,
    /// Keep only the latest record per key.
    Compact,
    /// Compaction and retention (Kafka's `cleanup.policy=compact,delete`).
    #[serde(rename = "compact,delete", alias = "delete,compact")]
    CompactDelete,
}

impl Cleanup {
    /// Compaction runs (`compact` or `compact,delete`).
    pub fn compacts(self) -> bool {
        self != Cleanup::Delete
    }

    /// Retention deletes old records (`delete` or `compact,delete`): Kafka's
    /// `UnifiedLog.deleteOldSegments` applies time and size retention only
    /// when the policy includes `delete`.
    pub fn deletes(self) -> bool {
        self != Cleanup::Compact
    }
}

/// How a producer picks a partition when the record names none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Partitioner {
    /// Kafka's built-in: murmur2(key) for keyed records, sticky for null keys.
    #[default]
    Default,
    /// Kafka's `RoundRobinPartitioner`: every record to the next partition, keys ignored.
    RoundRobin,
}

/// A consumer group: members share the partitions of its topics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsumerGroup {
    pub id: String,
    /// Topic ids every member subscribes to.
    pub topics: Vec<String>,
    /// Members at the start.
    #[serde(default = "one")]
    pub members: u32,
    /// Time to process one record.
    pub service: Service,
    /// Members with their own service time (e.g. one slow member); every
    /// other member uses `service`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub member_service: Vec<MemberService>,
    /// Probability in [0, 1] that processing a record fails; a failed record is
    /// retried in place (the partition waits behind it).
    #[serde(default)]
    pub failure_rate: f64,
    /// `partition.assignment.strategy`.
    #[serde(default)]
    pub assignment: Assignment,
    /// `max.poll.records`: records one poll returns at most.
    #[serde(default = "default_max_poll")]
    pub max_poll_records: u32,
    /// `session.timeout.ms`: a crashed member is noticed this long after it crashed.
    #[serde(default = "default_session_timeout")]
    pub session_timeout: Duration,
    /// `max.poll.interval.ms`: a member still busy with the batch it polled
    /// this long after the poll leaves the group (its partitions move, its
    /// commits for that batch fail) and rejoins at its next poll.
    #[serde(default = "default_max_poll_interval")]
    pub max_poll_interval: Duration,
    /// How long a rebalance stops consumption (eager: everything; cooperative: moved partitions).
    #[serde(default = "default_rebalance_pause")]
    pub rebalance_pause: Duration,
    /// When offsets are committed.
    #[serde(default)]
    pub commit: CommitPolicy,
    /// `auto.offset.reset`: where to start without a committed offset.
    #[serde(default)]
    pub auto_offset_reset: OffsetReset,
    /// What happens to a record whose processing failed (default: retried in
    /// place for ever, without backoff: the partition waits behind it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<GroupOnFailure>,
    /// Read-process-write: every processed record produces one record to
    /// this topic (same key), optionally in Kafka transactions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<GroupOutput>,
    /// `isolation.level`: `read_committed` skips aborted transactional
    /// records and waits at the last stable offset for open ones.
    #[serde(default, skip_serializing_if = "IsolationLevel::is_default")]
    pub isolation_level: IsolationLevel,
}

/// One member's own service time (`member` 0 is the first member).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberService {
    pub member: u32,
    pub service: Service,
}

/// What a group does with a record whose processing failed. Every mode keeps
/// the partition in offset order; only `retry_topics` gives up order per key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum GroupOnFailure {
    /// Retry the record in place after `backoff`; its partition waits behind it
    /// (head-of-line blocking, Spring Kafka's `DefaultErrorHandler`). After
    /// `attempts` attempts in all the record is skipped; without it, never.
    Blocking {
        #[serde(default)]
        backoff: Duration,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attempts: Option<u32>,
    },
    /// Give up at once: the record is skipped and the partition moves on
    /// (Kafka Connect's `errors.tolerance: all` without a dead-letter queue).
    Skip,
    /// Retry in place up to `attempts` attempts in all (with `backoff` between),
    /// then append the record to the dead-letter `topic` and move on (Spring
    /// Kafka's `DeadLetterPublishingRecoverer`, Kafka Connect's
    /// `errors.deadletterqueue.topic.name`).
    DeadLetter {
        topic: String,
        #[serde(default = "one")]
        attempts: u32,
        #[serde(default)]
        backoff: Duration,
    },
    /// Non-blocking retries (Spring Kafka's retryable topics): a failed record is
    /// appended to the next retry topic and the partition moves on; the group
    /// also reads the retry topics and processes a record there once `delay`
    /// has passed since it was appended; after the last retry topic fails, the
    /// record goes to `dead_letter` (or is dropped without one). Order per key
    /// is not kept.
    RetryTopics {
        topics: Vec<RetryTopic>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dead_letter: Option<String>,
    },
}

/// One stage of `retry_topics`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryTopic {
    pub topic: String,
    /// How long after it was appended a record here is processed again.
    pub delay: Duration,
}

impl ConsumerGroup {
    /// Every topic the group reads: its own, then its retry topics (Spring's
    /// retry-topic consumers run in the group).
    pub fn read_topics(&self) -> Vec<&str> {
        let retry: &[RetryTopic] = match &self.on_failure {
            Some(GroupOnFailure::RetryTopics { topics, .. }) => topics,
            _ => &[],
        };
        self.topics
            .iter()
            .map(String::as_str)
            .chain(retry.iter().map(|r| r.topic.as_str()))
            .collect()
    }
}

impl GroupOnFailure {
    /// Topics this policy appends to, in order (retry topics, then the dead-letter topic).
    pub fn target_topics(&self) -> Vec<&str> {
        match self {
            GroupOnFailure::Blocking { .. } | GroupOnFailure::Skip => Vec::new(),
            GroupOnFailure::DeadLetter { topic, .. } => vec![topic.as_str()],
            GroupOnFailure::RetryTopics {
                topics,
                dead_letter,
            } => topics
                .iter()
                .map(|r| r.topic.as_str())
                .chain(dead_letter.as_deref())
                .collect(),
        }
    }
}

fn one() -> u32 {
    1
}
fn default_max_poll() -> u32 {
    500
}
fn default_session_timeout() -> Duration {
    Duration::from_s(45)
}
fn default_max_poll_interval() -> Duration {
    Duration::from_s(300)
}
fn default_rebalance_pause() -> Duration {
    Duration::from_ms(100)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Assignment {
    /// `RangeAssignor` (eager): contiguous ranges per topic.
    #[default]
    Range,
    /// `RoundRobinAssignor` (eager): all partitions dealt out in turn.
    RoundRobin,
    /// `CooperativeStickyAssignor`: balanced, keeps what it can, only moved partitions pause.
    CooperativeSticky,
}

/// Where a read-process-write group writes, and whether in transactions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupOutput {
    /// The topic the output records go to (not one the group reads).
    pub topic: String,
    /// Kafka transactions: the outputs of a poll's batch and the batch's
    /// offsets commit together (or abort together when the member crashes).
    #[serde(default)]
    pub transactional: bool,
    /// Transactional outputs: how many poll batches one transaction spans
    /// (like Kafka Streams' `commit.interval.ms` under exactly-once); the
    /// offsets and outputs of every batch in it commit together at its end,
    /// or earlier when a poll finds nothing or the member gives up
    /// partitions. Unset: 1, a transaction per poll's batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub polls_per_txn: Option<u32>,
    /// Transactional outputs: the producer's `transaction.timeout.ms`. The
    /// transaction coordinator aborts a transaction still open this long
    /// after it began (its first output); that is what ends the open
    /// transaction of a crashed member whose partitions no other member
    /// takes (one that does fences it at once). Unset: 60 s, the Kafka
    /// producer's default (Kafka Streams sets 10 s under exactly-once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_timeout: Option<Duration>,
    /// Event-store appends with an expected version (optimistic concurrency,
    /// as EventStoreDB's `expectedRevision` or the survey's
    /// `append_events(aggregate_id, events, expected_version)`): the output
    /// topic is the event store, a record's key is its aggregate, and an
    /// aggregate's version is the number of records appended with its key.
    /// A member reads the version when it starts a record and appends with
    /// it. `true`: an append whose aggregate moved on meanwhile (another
    /// writer appended) is refused, a version conflict, and the member
    /// reloads and processes the record again. `false`: appended without
    /// the check; the appends decided on a stale version are counted
    /// (`stale_writes`, the lost updates the check would have refused).
    /// Unset: versions are not tracked. Records without a key are appended
    /// unchecked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_version: Option<bool>,
    /// Event store: the time to load one event of the aggregate (replay it
    /// into the aggregate's state) before deciding. A member that starts a
    /// record first replays the aggregate's events since its latest snapshot;
    /// that time adds to the record's service time. Needs `expected_version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_per_event: Option<Duration>,
    /// Event store: a snapshot of the aggregate's state is saved at every
    /// `snapshot_every`-th version (the survey's `save_snapshot`), so a load
    /// replays at most `snapshot_every - 1` events. Needs `replay_per_event`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_every: Option<u32>,
    /// Event store with the check on: how many times a member reloads and
    /// processes one record again after version conflicts before the
    /// attempt fails, as a command handler whose retry policy on a
    /// concurrency error (EventStoreDB's `WrongExpectedVersion`) is used
    /// up. The next conflict counts as a failed attempt and the group's
    /// failure handling (`on_failure`: retry in place, skip, dead-letter
    /// topic, retry topics) takes the record. `0`: the first conflict
    /// fails. Unset: no limit. Needs `expected_version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflict_retries: Option<u32>,
}

/// Upper bound of `output.conflict_retries`.
pub const CONFLICT_RETRIES_MAX: u32 = 1000;

/// Upper bound of `output.snapshot_every`.
pub const SNAPSHOT_EVERY_MAX: u32 = 1_000_000;

/// Kafka's producer default `transaction.timeout.ms`.
pub const TRANSACTION_TIMEOUT_DEFAULT_US: u64 = 60_000_000;

impl GroupOutput {
    /// `transaction_timeout` or Kafka's default [µs].
    pub fn transaction_timeout_us(&self) -> u64 {
        self.transaction_timeout
            .map_or(TRANSACTION_TIMEOUT_DEFAULT_US, |d| d.us())
    }
}

/// A consumer's `isolation.level`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IsolationLevel {
    /// Every record, aborted transactional ones included (Kafka's default).
    #[default]
    ReadUncommitted,
    /// Only committed records, up to the last stable offset.
    ReadCommitted,
}

impl IsolationLevel {
    pub fn is_default(&self) -> bool {
        *self == IsolationLevel::ReadUncommitted
    }
}

/// When a member commits its offsets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum CommitPolicy {
    /// `enable.auto.commit`: every `interval`, commit the position (what was polled).
    Auto {
        #[serde(default = "default_auto_commit")]
        interval: Duration,
    },
    /// Commit once records are processed: after each record or after each poll's batch.
    AfterProcessing {
        #[serde(default)]
        per: CommitPer,
    },
    /// Commit the polled position before processing the batch (at-most-once).
    BeforeProcessing,
}

impl Default for CommitPolicy {
    fn default() -> Self {
        CommitPolicy::Auto {
            interval: default_auto_commit(),
        }
    }
}

fn default_auto_commit() -> Duration {
    Duration::from_s(5)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum CommitPer {
    Record,
    #[default]
    Batch,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum OffsetReset {
    Earliest,
    /// Kafka's default.
    #[default]
    Latest,
}

/// Where a `seek_group` command moves a group's offsets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SeekTo {
    /// The log start offset (replay everything retained).
    Beginning,
    /// The log end offset (skip everything).
    End,
    /// This offset; one outside the log (below its start or past its end)
    /// applies the group's `auto_offset_reset`, as the consumer's next fetch.
    Offset(u64),
    /// The first kept record published at or after this simulated time
    /// (Kafka's `offsetsForTimes` with CreateTime); the log end if none.
    Timestamp(Duration),
}

/// Limits.
pub const PARTITIONS_MAX: u32 = 1024;
/// Partitions over all topics: each costs its log and bookkeeping, built
/// before the first event, so `--max-events` could not bound it.
pub const TOTAL_PARTITIONS_MAX: u32 = 16_384;
/// Partitions read over all consumer groups (a group counts every partition
/// of every topic it reads): each is a group's offset and lag state.
pub const GROUP_PARTITIONS_MAX: u32 = 65_536;
pub const MAX_POLL_RECORDS_MAX: u32 = 100_000;
pub const BATCH_SIZE_MAX: u32 = 100_000;
/// Upper bound of a non-idempotent producer's `max_in_flight`.
pub const MAX_IN_FLIGHT_MAX: u32 = 1_000;
/// Upper bound of `output.polls_per_txn`.
pub const POLLS_PER_TXN_MAX: u32 = 10_000;
pub const GROUP_MEMBERS_MAX: u32 = 1000;
pub const RETRY_TOPICS_MAX: usize = 16;
pub const FAILURE_ATTEMPTS_MAX: u32 = 1000;

/// Check a `stall_follower` command against its topic (None: unknown, reported
/// elsewhere); the error names the field (`duration`, `partition`, `topic`).
pub fn check_stall(
    t: Option<&Topic>,
    partition: Option<u32>,
    duration: Duration,
) -> Result<(), (&'static str, String)> {
    if duration.us() == 0 || duration.us() > 86_400_000_000 {
        return Err(("duration", "must be more than 0 and at most 24h".into()));
    }
    let Some(t) = t else {
        return Ok(());
    };
    if !t
        .replication
        .is_some_and(|r| r.factor > 1 && r.in_sync_followers() > 0)
    {
        return Err((
            "topic",
            format!(
                "{} has no in-sync follower to stall (needs replication)",
                t.id
            ),
        ));
    }
    if let Some(p) = partition.filter(|&p| p >= t.partitions) {
        return Err((
            "partition",
            format!(
                "{} has {} partitions; there is no partition {p}",
                t.id, t.partitions
            ),
        ));
    }
    Ok(())
}
