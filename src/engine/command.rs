//! Commands at run time: check a command completely, then hand it to the model
//! that owns its target.
//!
//!   UI / CLI ──submit──┐
//!                      ├─► check_command ──ok──► apply_command ──► producer / queue / consumer
//!   schedule (Event) ──┘        │                      │
//!                               └─ CommandError        └─► command log + `CommandApplied` trace
//!
//! A rejected command changes nothing, leaves no trace and is not logged. The
//! `Command` type itself is scenario data and lives in `scenario::command`.

use crate::engine::core::Engine;
use crate::engine::core::NodeKind;
use crate::engine::trace::{NodeId, TraceKind};
use crate::scenario::{self, OnFailure, RetryMode};
use crate::scenario::{Command, LoggedCommand};

/// Why `submit` refused a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandError(pub String);

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CommandError {}

impl Engine {
    /// Apply a command at the current time and log it.
    pub fn submit(&mut self, command: Command) -> Result<(), CommandError> {
        self.check_command(&command)?;
        self.apply_command(&command);
        let index = self.commands.len() as u32;
        self.commands.push(LoggedCommand {
            at_us: self.now.0,
            after_events: self.events,
            command,
        });
        let node = self
            .nodes
            .iter()
            .position(|n| n.id == self.commands[index as usize].command.target())
            .unwrap_or(0);
        self.trace.record(
            self.now,
            TraceKind::CommandApplied {
                index,
                scheduled: false,
            },
            None,
            NodeId(node as u32),
        );
        Ok(())
    }

    /// The index of node `id`, which must be a `kind`. An over-long id is
    /// refused without being echoed (no node has one; see `ID_LEN_MAX`).
    pub(crate) fn find(&self, id: &str, kind: NodeKind) -> Result<u32, CommandError> {
        if id.len() > scenario::ID_LEN_MAX {
            return Err(CommandError(format!(
                "a node id has at most {} characters, not {}",
                scenario::ID_LEN_MAX,
                id.len()
            )));
        }
        match self.node_of(id) {
            Some(n) if n.kind == kind => Ok(n.index),
            Some(n) => Err(CommandError(format!(
                "{id:?} is a {}, not a {}",
                n.kind.noun(),
                kind.noun()
            ))),
            None => Err(CommandError(format!("no node named {id:?}"))),
        }
    }

    pub(crate) fn check_command(&self, cmd: &Command) -> Result<(), CommandError> {
        let err = |s: String| Err(CommandError(s));
        if self.check_pulsar_command(cmd)? {
            return Ok(());
        }
        if self.check_redis_command(cmd)? {
            return Ok(());
        }
        self.check_sqs_command(cmd)?;
        match cmd {
            Command::SetGuarantee { .. } | Command::RestartBroker => {}
            Command::ChangeMessageVisibility { .. }
            | Command::RedriveDeadLetters { .. }
            | Command::SetVisibilityTimeout { .. }
            | Command::SetWaitTime { .. }
            | Command::SetMaxMessages { .. } => {}
            Command::CrashProducer {
                producer,
                restart_after,
            } => {
                self.find(producer, NodeKind::Producer)?;
                if restart_after.is_some_and(|d| d.us() > crate::engine::DELAY_US_MAX) {
                    return err("restart_after must be at most 24h".into());
                }
            }
            Command::RestartProducer { producer } => {
                self.find(producer, NodeKind::Producer)?;
            }
            Command::CrashLeader {
                topic,
                partition,
                restart_after,
            } => {
                let t = self.find(topic, NodeKind::Topic)?;
                let n = self.streams.topics[t as usize].parts.len() as u32;
                if partition.is_some_and(|p| p >= n) {
                    return err(format!(
                        "{topic} has {n} partitions; there is no partition {}",
                        partition.unwrap_or(0)
                    ));
                }
                if restart_after.is_some_and(|d| d.us() > crate::engine::DELAY_US_MAX) {
                    return err("restart_after must be at most 24h".into());
                }
            }
            Command::StallFollower {
                topic,
                partition,
                duration,
            } => {
                let t = self.find(topic, NodeKind::Topic)?;
                let mut cfg = self.cfg.topics[t as usize].clone();
                cfg.partitions = self.streams.topics[t as usize].parts.len() as u32;
                scenario::check_stall(Some(&cfg), *partition, *duration)
                    .map_err(|(f, e)| CommandError(format!("{f}: {e}")))?;
            }
            Command::CrashBroker { restart_after } => {
                if restart_after.is_some_and(|d| d.us() > crate::engine::DELAY_US_MAX) {
                    return err("restart_after must be at most 24h".into());
                }
            }
            Command::SetDedup { consumer, dedup } => {
                self.find(consumer, NodeKind::Consumer)?;
                if let Some(d) = dedup {
                    scenario::check_dedup(d)
                        .map_err(|(f, e)| CommandError(format!("dedup.{f}: {e}")))?;
                }
            }
            Command::SetCircuitBreaker {
                consumer,
                circuit_breaker,
            } => {
                let c = self.find(consumer, NodeKind::Consumer)?;
                if self.is_sqs_consumer(c) {
                    return err(format!(
                        "{consumer} reads an SQS queue: circuit breakers are modelled for AMQP queue consumers only"
                    ));
                }
                if let Some(b) = circuit_breaker {
                    scenario::check_circuit_breaker(b)
                        .map_err(|(n, e)| CommandError(format!("circuit_breaker.{n}: {e}")))?;
                }
            }
            Command::SetConsumerFaults { consumer, faults } => {
                self.find(consumer, NodeKind::Consumer)?;
                if let Some(f) = faults {
                    scenario::check_consumer_faults(f)
                        .map_err(|(n, e)| CommandError(format!("faults.{n}: {e}")))?;
                }
            }
            Command::SetConfirms { producer, confirms } => {
                // For a topic producer: the request timeout and retries.
                self.find(producer, NodeKind::Producer)?;
                if let Some(c) = confirms {
                    scenario::check_confirms(c)
                        .map_err(|(n, e)| CommandError(format!("confirms.{n}: {e}")))?;
                }
            }
            Command::SetLinkFaults { producer, faults } => {
                let p = self.find(producer, NodeKind::Producer)?;
                let to_topic = self
                    .streams
                    .producers
                    .get(p as usize)
                    .is_some_and(|t| t.is_some());
                if let Some(f) = faults {
                    scenario::check_link_faults(f, to_topic)
                        .map_err(|(n, e)| CommandError(format!("faults.{n}: {e}")))?;
                }
            }
            Command::SetRate { producer, rate } => {
                self.find(producer, NodeKind::Producer)?;
                if rate.per_s().is_nan() || rate.per_s() < 0.0 {
                    return err("rate must not be negative".into());
                }
            }
            Command::PauseProducer { producer } | Command::ResumeProducer { producer } => {
                self.find(producer, NodeKind::Producer)?;
            }
            Command::PublishOne {
                producer,
                routing_key,
                key,
                headers,
            } => {
                self.find(producer, NodeKind::Producer)?;
                scenario::check_publish_one(
                    &self.cfg,
                    producer,
                    routing_key.as_deref(),
                    key.as_deref(),
                    headers,
                )
                .map_err(|(field, e)| CommandError(format!("{field}: {e}")))?;
            }
            Command::SetArrival { producer, arrival } => {
                let p = self.find(producer, NodeKind::Producer)?;
                let rate = self.cfg.producers[p as usize].rate;
                scenario::check_arrival(arrival, rate).map_err(CommandError)?;
            }
            Command::CrashConsumer {
                consumer, instance, ..
            }
            | Command::RestartConsumer { consumer, instance } => {
                let c = self.find(consumer, NodeKind::Consumer)?;
                let n = self.consumers[c as usize].instances.len() as u32;
                if let Some(i) = instance {
                    if *i >= n {
                        return err(format!(
                            "{consumer} has {n} instances; there is no instance {i}"
                        ));
                    }
                }
            }
            Command::SetInstances {
                consumer,
                instances,
            } => {
                self.find(consumer, NodeKind::Consumer)?;
                if *instances > scenario::INSTANCES_MAX {
                    return err(format!(
                        "instances must be at most {}",
                        scenario::INSTANCES_MAX
                    ));
                }
            }
            Command::SetService { consumer, service } => {
                self.find(consumer, NodeKind::Consumer)?;
                scenario::check_service(service).map_err(|e| CommandError(e.msg))?;
            }
            Command::SetFailureRate {
                consumer,
                failure_rate,
            } => {
                self.find(consumer, NodeKind::Consumer)?;
                if !(0.0..=1.0).contains(failure_rate) {
                    return err("failure rate must be between 0 and 1".into());
                }
            }
            Command::SetPrefetch { consumer, prefetch } => {
                self.find(consumer, NodeKind::Consumer)?;
                if *prefetch == 0 || *prefetch > scenario::PREFETCH_MAX {
                    return err(format!(
                        "prefetch must be between 1 and {}",
                        scenario::PREFETCH_MAX
                    ));
                }
            }
            Command::SetAckMode { consumer, .. } => {
                self.find(consumer, NodeKind::Consumer)?;
            }
            Command::SetOnFailure {
                consumer,
                on_failure,
            } => {
                let c = self.find(consumer, NodeKind::Consumer)?;
                if *on_failure == OnFailure::Retry && self.cfg.consumers[c as usize].retry.is_none()
                {
                    return err(format!("{consumer} has no retry policy; set one first"));
                }
            }
            Command::SetRetry { consumer, retry } => {
                let c = self.find(consumer, NodeKind::Consumer)?;
                let cfg = &self.cfg.consumers[c as usize];
                match retry {
                    None if cfg.on_failure == OnFailure::Retry => {
                        return err(format!("{consumer} retries on failure; change on_failure before removing the policy"))
                    }
                    None => {}
                    Some(r) => {
                        scenario::check_retry(r).map_err(|e| CommandError(e.msg))?;
                        if r.exhausted_to.as_ref() != cfg.retry.as_ref().and_then(|x| x.exhausted_to.as_ref()) {
                            return err("exhausted_to cannot change while running".into());
                        }
                        let q = self.consumers[c as usize].queue;
                        if r.mode == RetryMode::RetryQueue && !self.queue_has_dlx(q) {
                            return err(format!("retry_queue mode needs {} to have a dead_letter_exchange", cfg.queue));
                        }
                    }
                }
            }
            Command::SetMaxLength { queue, max_length } => {
                self.find(queue, NodeKind::Queue)?;
                if max_length.is_some_and(|l| l > scenario::MAX_LENGTH_MAX) {
                    return err(format!(
                        "max_length must be at most {}",
                        scenario::MAX_LENGTH_MAX
                    ));
                }
            }
            Command::SetOverflow { queue, .. }
            | Command::SetQueueTtl { queue, .. }
            | Command::PurgeQueue { queue } => {
                self.find(queue, NodeKind::Queue)?;
            }
            Command::AddMember { group } => {
                let g = self.find(group, NodeKind::Group)?;
                let n = self.streams.groups[g as usize].members.len() as u32;
                if n >= scenario::GROUP_MEMBERS_MAX {
                    return err(format!(
                        "{group} has had {n} members; at most {}",
                        scenario::GROUP_MEMBERS_MAX
                    ));
                }
            }
            Command::RemoveMember { group, member } => {
                let g = self.find(group, NodeKind::Group)?;
                if self.member_to_remove(g, *member).is_none() {
                    return err(match member {
                        Some(m) => format!("{group} has no live member {m}"),
                        None => format!("{group} has no live member"),
                    });
                }
            }
            Command::PauseMember {
                group,
                member,
                duration,
            } => {
                let g = self.find(group, NodeKind::Group)?;
                if duration.us() == 0 || duration.us() > 3_600_000_000 {
                    return err("duration must be more than 0 and at most 1h".to_string());
                }
                if !self.can_pause(g, *member) {
                    return err(format!(
                        "{group} has no live, unpaused member {member} in the group"
                    ));
                }
            }
            Command::CrashMember { group, member } => {
                let g = self.find(group, NodeKind::Group)?;
                let alive = self.streams.groups[g as usize]
                    .members
                    .get(*member as usize)
                    .is_some_and(|m| m.alive);
                if !alive {
                    return err(format!("{group} has no live member {member}"));
                }
            }
            Command::SeekGroup {
                group,
                partition,
                topic,
                ..
            } => {
                let g = self.find(group, NodeKind::Group)?;
                self.seek_target(g, topic.as_deref(), *partition)?;
            }
            Command::SetAssignment { .. }
            | Command::SetCommitPolicy { .. }
            | Command::SetMaxPollRecords { .. }
            | Command::SetExpectedVersion { .. }
            | Command::SetLinger { .. } => self.check_stream_knob(cmd)?,
            Command::IncreasePartitions { topic, partitions } => {
                let t = self.find(topic, NodeKind::Topic)?;
                let now_n = self.streams.topics[t as usize].parts.len() as u32;
                if *partitions <= now_n {
                    return err(format!(
                        "{topic} has {now_n} partitions; partitions can only increase"
                    ));
                }
                if *partitions > scenario::PARTITIONS_MAX {
                    return err(format!(
                        "partitions must be at most {}",
                        scenario::PARTITIONS_MAX
                    ));
                }
                let added = u64::from(*partitions - now_n);
                let total: u64 = self
                    .streams
                    .topics
                    .iter()
                    .map(|x| x.parts.len() as u64)
                    .sum();
                if total + added > u64::from(scenario::TOTAL_PARTITIONS_MAX) {
                    return err(format!(
                        "{} partitions over all topics; at most {}",
                        total + added,
                        scenario::TOTAL_PARTITIONS_MAX
                    ));
                }
                let read: u64 = self
                    .streams
                    .groups
                    .iter()
                    .map(|g| g.parts.len() as u64)
                    .sum();
                let readers = self
                    .streams
                    .groups
                    .iter()
                    .filter(|g| g.parts.iter().any(|p| p.topic == t))
                    .count() as u64;
                if read + readers * added > u64::from(scenario::GROUP_PARTITIONS_MAX) {
                    return err(format!(
                        "the groups would read {} partitions in all; at most {}",
                        read + readers * added,
                        scenario::GROUP_PARTITIONS_MAX
                    ));
                }
            }
            // Checked by `check_redis_command` above.
            _ => {}
        }
        Ok(())
    }

    /// Apply a checked command: configuration changes here, behaviour in the
    /// model that owns the target.
    pub(crate) fn apply_command(&mut self, cmd: &Command) {
        if self.apply_pulsar_command(cmd) {
            return;
        }
        if self.apply_redis_command(cmd) {
            return;
        }
        match cmd {
            Command::SetRate { producer, rate } => {
                let p = self.find(producer, NodeKind::Producer).unwrap();
                self.cfg.producers[p as usize].rate = *rate;
                self.producer_changed(p);
            }
            Command::SetArrival { producer, arrival } => {
                let p = self.find(producer, NodeKind::Producer).unwrap();
                self.cfg.producers[p as usize].arrival = arrival.clone();
                self.producer_changed(p);
            }
            Command::PauseProducer { producer } => {
                let p = self.find(producer, NodeKind::Producer).unwrap();
                self.pause_producer(p);
            }
            Command::ResumeProducer { producer } => {
                let p = self.find(producer, NodeKind::Producer).unwrap();
                self.resume_producer(p);
            }
            Command::PublishOne {
                producer,
                routing_key,
                key,
                headers,
            } => {
                let p = self.find(producer, NodeKind::Producer).unwrap();
                self.publish_one(p, routing_key.as_deref(), key.as_deref(), headers);
            }
            Command::CrashConsumer {
                consumer,
                instance,
                restart_after,
                point,
            } => {
                let c = self.find(consumer, NodeKind::Consumer).unwrap();
                let restart = restart_after.map(|d| d.us());
                if point.is_now() {
                    self.crash_consumer(c, *instance, restart);
                } else {
                    self.arm_crash(c, *point, *instance, restart);
                }
            }
            Command::RestartConsumer { consumer, instance } => {
                let c = self.find(consumer, NodeKind::Consumer).unwrap();
                self.restart_consumer(c, *instance);
            }
            Command::SetInstances {
                consumer,
                instances,
            } => {
                let c = self.find(consumer, NodeKind::Consumer).unwrap();
                self.set_instances(c, *instances);
            }
            Command::SetService { consumer, service } => {
                let c = self.find(consumer, NodeKind::Consumer).unwrap();
                self.cfg.consumers[c as usize].service = service.clone();
            }
            Command::SetFailureRate {
                consumer,
                failure_rate,
            } => {
                let c = self.find(consumer, NodeKind::Consumer).unwrap();
                self.cfg.consumers[c as usize].failure_rate = *failure_rate;
            }
            Command::SetPrefetch { consumer, prefetch } => {
                let c = self.find(consumer, NodeKind::Consumer).unwrap();
                self.set_prefetch(c, *prefetch);
            }
            Command::SetAckMode { consumer, ack } => {
                let c = self.find(consumer, NodeKind::Consumer).unwrap();
                self.cfg.consumers[c as usize].ack = Some(*ack);
            }
            Command::SetOnFailure {
                consumer,
                on_failure,
            } => {
                let c = self.find(consumer, NodeKind::Consumer).unwrap();
                self.cfg.consumers[c as usize].on_failure = *on_failure;
            }
            Command::SetRetry { consumer, retry } => {
                let c = self.find(consumer, NodeKind::Consumer).unwrap();
                self.cfg.consumers[c as usize].retry = retry.clone();
            }
            Command::SetMaxLength { queue, max_length } => {
                let q = self.find(queue, NodeKind::Queue).unwrap();
                self.set_max_length(q, *max_length);
            }
            Command::SetOverflow { queue, overflow } => {
                let q = self.find(queue, NodeKind::Queue).unwrap();
                self.cfg.queues[q as usize].overflow = *overflow;
                // Switching to drop-head trims at once (RabbitMQ's
                // `init_overflow` drops the head of an over-long queue).
                self.enforce_max_length(q);
                self.dispatch(q);
            }
            Command::SetQueueTtl { queue, ttl } => {
                let q = self.find(queue, NodeKind::Queue).unwrap();
                self.cfg.queues[q as usize].ttl = *ttl;
            }
            Command::PurgeQueue { queue } => {
                let q = self.find(queue, NodeKind::Queue).unwrap();
                self.purge_queue(q);
            }
            Command::AddMember { group } => {
                let g = self.find(group, NodeKind::Group).unwrap();
                self.add_member(g);
            }
            Command::RemoveMember { group, member } => {
                let g = self.find(group, NodeKind::Group).unwrap();
                if let Some(m) = self.member_to_remove(g, *member) {
                    self.remove_member(g, m);
                }
            }
            Command::CrashMember { group, member } => {
                let g = self.find(group, NodeKind::Group).unwrap();
                self.crash_member(g, *member);
            }
            Command::PauseMember {
                group,
                member,
                duration,
            } => {
                let g = self.find(group, NodeKind::Group).unwrap();
                self.pause_member(g, *member, duration.us());
            }
            Command::SeekGroup {
                group,
                to,
                partition,
                topic,
            } => {
                let g = self.find(group, NodeKind::Group).unwrap();
                let t = self
                    .seek_target(g, topic.as_deref(), *partition)
                    .expect("checked");
                self.seek_group(g, *to, t, *partition);
            }
            Command::SetAssignment { .. }
            | Command::SetCommitPolicy { .. }
            | Command::SetMaxPollRecords { .. }
            | Command::SetExpectedVersion { .. }
            | Command::SetLinger { .. } => self.apply_stream_knob(cmd),
            Command::IncreasePartitions { topic, partitions } => {
                let t = self.find(topic, NodeKind::Topic).unwrap();
                self.increase_partitions(t, *partitions);
            }
            Command::CrashBroker { restart_after } => {
                self.crash_broker(restart_after.map(|d| d.us()));
            }
            Command::RestartBroker => self.restart_broker(),
            Command::CrashProducer {
                producer,
                restart_after,
            } => {
                let p = self.find(producer, NodeKind::Producer).unwrap();
                self.crash_producer(p, restart_after.map(|d| d.us()));
            }
            Command::RestartProducer { producer } => {
                let p = self.find(producer, NodeKind::Producer).unwrap();
                self.restart_producer(p);
            }
            Command::CrashLeader {
                topic,
                partition,
                restart_after,
            } => {
                let t = self.find(topic, NodeKind::Topic).unwrap();
                self.crash_leader(t, *partition, restart_after.map(|d| d.us()));
            }
            Command::StallFollower {
                topic,
                partition,
                duration,
            } => {
                let t = self.find(topic, NodeKind::Topic).unwrap();
                self.stall_follower(t, *partition, duration.us());
            }
            Command::ChangeMessageVisibility { .. }
            | Command::RedriveDeadLetters { .. }
            | Command::SetVisibilityTimeout { .. }
            | Command::SetWaitTime { .. }
            | Command::SetMaxMessages { .. } => self.apply_sqs_command(cmd),
            Command::SetGuarantee { guarantee } => {
                let g = *guarantee;
                let topics: Vec<String> = self
                    .cfg
                    .non_queue_targets()
                    .into_iter()
                    .map(String::from)
                    .collect();
                for p in &mut self.cfg.producers {
                    if !topics.contains(&p.to) {
                        p.confirms = g.confirms();
                    }
                }
                for c in &mut self.cfg.consumers {
                    c.ack = Some(g.ack());
                    c.dedup = g.dedup();
                }
                for s in &mut self.cfg.pulsar_subscriptions {
                    s.ack_mode = Some(g.ack());
                    s.dedup = g.dedup();
                }
                for c in 0..self.consumers.len() as u32 {
                    self.refresh_protocol(c);
                }
            }
            Command::SetDedup { consumer, dedup } => {
                let c = self.find(consumer, NodeKind::Consumer).unwrap();
                self.cfg.consumers[c as usize].dedup = *dedup;
                self.refresh_protocol(c);
            }
            Command::SetCircuitBreaker {
                consumer,
                circuit_breaker,
            } => {
                let c = self.find(consumer, NodeKind::Consumer).unwrap();
                self.set_circuit_breaker(c, *circuit_breaker);
            }
            Command::SetConsumerFaults { consumer, faults } => {
                let c = self.find(consumer, NodeKind::Consumer).unwrap();
                self.cfg.consumers[c as usize].faults = *faults;
                self.refresh_protocol(c);
            }
            Command::SetConfirms { producer, confirms } => {
                let p = self.find(producer, NodeKind::Producer).unwrap();
                self.cfg.producers[p as usize].confirms = *confirms;
            }
            Command::SetLinkFaults { producer, faults } => {
                let p = self.find(producer, NodeKind::Producer).unwrap();
                self.cfg.producers[p as usize].faults = *faults;
            }
            // Applied by `apply_redis_command` above.
            _ => {}
        }
    }

    /// A scenario's scheduled command is due.
    pub(crate) fn apply_scheduled(&mut self, index: u32) {
        let cmd = self.cfg.schedule[index as usize].command.clone();
        // Validated with the scenario; a command that has become
        // impossible (e.g. an instance scaled away) is skipped quietly.
        if self.check_command(&cmd).is_ok() {
            self.apply_command(&cmd);
            let node = self
                .node_of(cmd.target())
                .map(|n| n.id.clone())
                .unwrap_or_default();
            let node = self.nodes.iter().position(|n| n.id == node).unwrap_or(0) as u32;
            self.trace.record(
                self.now,
                TraceKind::CommandApplied {
                    index,
                    scheduled: true,
                },
                None,
                NodeId(node),
            );
        }
    }
}
